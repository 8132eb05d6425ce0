-- GetCustomerRelationsByCustomer of customer 1001 (see scale-out.sh).
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml"
-- HTTP Basic as demo-reader (README, "Security").
wrk.headers["Authorization"] = "Basic ZGVtby1yZWFkZXI6ZGVtby1yZWFkZXItc2VjcmV0"
wrk.body = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetCustomerRelationsByCustomer xmlns="urn:customer-relations:v1"><CustomerNumber>1001</CustomerNumber></GetCustomerRelationsByCustomer></s:Body></s:Envelope>'
