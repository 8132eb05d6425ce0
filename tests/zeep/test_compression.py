"""Compression through zeep and curl (README, "Compression"): zeep's HTTP
session accepts gzip and gets it; a transport that gzips its requests is
understood; curl sends a gzipped body and decodes a gzipped answer."""

import gzip
import shutil
import subprocess

import pytest
import requests
import zeep
from zeep.transports import Transport

from conftest import login


class GzipTransport(Transport):
    """Sends every request body gzipped, as CXF's GZIPFeature does."""

    def post(self, address, message, headers):
        body = message if isinstance(message, bytes) else message.encode("utf-8")
        return super().post(address, gzip.compress(body), {**headers, "Content-Encoding": "gzip"})


def recording_session(seen):
    session = requests.Session()
    session.hooks["response"].append(lambda response, *args, **kwargs: seen.append(response))
    return session


def test_zeep_gets_gzipped_answers_and_may_send_gzip(endpoint):
    seen = []
    client = zeep.Client(
        f"{endpoint}?wsdl",
        wsse=login("demo-bus"),
        transport=GzipTransport(session=recording_session(seen)),
    )
    created = client.service.CreateCustomerRelation(
        CustomerRelation={"CustomerNumber": 1000, "RelationTypeCode": "SSO", "Reference": "zeep-gzip"}
    )
    assert created.Reference == "zeep-gzip"
    types = client.service.GetRelationTypes()
    assert len(types) == 7
    # The WSDL and the relation types are large enough to be compressed.
    encodings = [r.headers.get("Content-Encoding") for r in seen]
    assert encodings[0] == "gzip", encodings
    assert encodings[-1] == "gzip", encodings


def test_curl_sends_and_receives_gzip(endpoint, tmp_path):
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    body = (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        '<GetRelationTypes xmlns="urn:customer-relations:v1"/></s:Body></s:Envelope>'
    )
    request = tmp_path / "request.xml.gz"
    request.write_bytes(gzip.compress(body.encode()))
    headers = tmp_path / "headers"
    out = subprocess.run(
        [
            curl, "-s", "--max-time", "30", "--compressed", "-D", str(headers),
            "-u", "demo-reader:demo-reader-secret",
            "-H", "Content-Type: text/xml; charset=utf-8",
            "-H", "Content-Encoding: gzip",
            "--data-binary", f"@{request}", endpoint,
        ],
        capture_output=True, text=True, check=True,
    )
    assert "<Code>SSO</Code>" in out.stdout, out.stdout
    assert "content-encoding: gzip" in headers.read_text().lower()
