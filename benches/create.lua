-- CreateCustomerRelation with a reference no other request uses: each wrk
-- thread numbers its own, after a prefix from $PREFIX and the time, so a
-- duplicate never measures the fault path instead.
-- Every relation is for customer 1000: start the server with a high
-- --max-relations-per-customer (e.g. 100000000), or past the default bound
-- of 10,000 this measures the refusal (EntityValidationFault) instead.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("prefix", (os.getenv("PREFIX") or "p") .. "t" .. threads .. "-" .. os.time())
end
local counter = 0
function request()
  counter = counter + 1
  local body = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><CreateCustomerRelation xmlns="urn:customer-relations:v1"><CustomerRelation><CustomerNumber>1000</CustomerNumber><RelationTypeCode>FACEBOOK</RelationTypeCode><Reference>' .. prefix .. '-' .. counter .. '</Reference></CustomerRelation></CreateCustomerRelation></s:Body></s:Envelope>'
  -- HTTP Basic as demo-bus (README, "Security").
  return wrk.format("POST", "/CustomerRelationService", {["Content-Type"] = "text/xml", ["Authorization"] = "Basic ZGVtby1idXM6ZGVtby1idXMtc2VjcmV0"}, body)
end
