"""The SoapUI project (tests/soapui/, README "SoapUI") cannot rot: SoapUI does
not run here, so this test does what SoapUI would. It checks that the project's
interfaces name the operations the served WSDLs have, then replays every test
step in order against a fresh demo service, with SoapUI's property expansion
(${#Project#name} and ${Step#Response#xpath}), and evaluates each step's
assertions (SOAP Response, Not SOAP Fault, SOAP Fault, XPath Match)."""

import pathlib
import re

import pytest
import requests
from lxml import etree

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROJECT = ROOT / "tests" / "soapui" / "customer-relations-soapui-project.xml"
CON = "http://eviware.com/soapui/config"
NS = {"con": CON}
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL = "http://schemas.xmlsoap.org/wsdl/"


def evaluate(document, expression):
    """A SoapUI XPath (with `declare namespace p='uri';` prologs) on a
    document; the result as SoapUI compares it: a string."""
    namespaces = dict(re.findall(r"declare namespace (\w+)\s*=\s*['\"]([^'\"]+)['\"]\s*;", expression))
    path = re.sub(r"declare namespace \w+\s*=\s*['\"][^'\"]+['\"]\s*;", "", expression).strip()
    result = document.xpath(path, namespaces=namespaces)
    if isinstance(result, list):
        assert result, f"{path} selects nothing"
        first = result[0]
        return first if isinstance(first, str) else (first.text or "")
    if isinstance(result, float):
        return str(int(result)) if result.is_integer() else str(result)
    return str(result)


def expand(text, properties, responses):
    def one(match):
        reference = match.group(1)
        if reference.startswith("#Project#"):
            return properties[reference[len("#Project#"):]]
        step, _, xpath = reference.split("#", 2)
        assert step in responses, f"${{{reference}}} names a step that has not run"
        return evaluate(responses[step], xpath)

    return re.sub(r"\$\{([^}]+)\}", one, text)


def project():
    return etree.parse(str(PROJECT)).getroot()


def test_the_project_names_the_operations_of_both_wsdls(endpoint):
    base = endpoint.rsplit("/", 1)[0]
    for interface in project().findall("con:interface", NS):
        definition = interface.get("definition").replace("http://127.0.0.1:8080", base)
        wsdl = etree.fromstring(requests.get(definition, timeout=30).content)
        served = {
            op.get("name")
            for op in wsdl.findall(f"{{{WSDL}}}portType/{{{WSDL}}}operation")
        }
        listed = {op.get("name") for op in interface.findall("con:operation", NS)}
        assert listed == served, interface.get("name")
        binding = interface.get("bindingName").split("}")[1]
        assert wsdl.find(f"{{{WSDL}}}binding[@name='{binding}']") is not None, binding


def test_every_step_of_the_project_passes_its_assertions(endpoint):
    root = project()
    base = endpoint.rsplit("/", 1)[0]
    properties = {
        p.findtext("con:name", namespaces=NS): p.findtext("con:value", namespaces=NS)
        for p in root.findall("con:properties/con:property", NS)
    }
    properties["endpoint"] = base
    actions = {
        (interface.get("name"), op.get("name")): op.get("action")
        for interface in root.findall("con:interface", NS)
        for op in interface.findall("con:operation", NS)
    }
    steps = root.findall(".//con:testCase/con:testStep", NS)
    assert len(steps) >= 30
    responses = {}
    for step in steps:
        name = step.get("name")
        config = step.find("con:config", NS)
        request = config.find("con:request", NS)
        action = actions[(config.findtext("con:interface", namespaces=NS), config.findtext("con:operation", namespaces=NS))]
        url = expand(request.findtext("con:endpoint", namespaces=NS), properties, responses)
        body = expand(request.findtext("con:request", namespaces=NS), properties, responses)
        response = requests.post(
            url,
            data=body.encode("utf-8"),
            headers={"Content-Type": "text/xml;charset=UTF-8", "SOAPAction": f'"{action}"'},
            timeout=30,
        )
        document = etree.fromstring(response.content)
        responses[name] = document
        fault = document.find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
        assertions = request.findall("con:assertion", NS)
        assert assertions, f"{name} asserts nothing"
        for assertion in assertions:
            kind = assertion.get("type")
            if kind == "SOAP Response":
                assert document.tag == f"{{{SOAP11}}}Envelope", name
            elif kind == "Not SOAP Fault Assertion":
                assert fault is None, f"{name}: {response.text}"
            elif kind == "SOAP Fault Assertion":
                assert fault is not None, f"{name}: {response.text}"
            elif kind == "XPath Match":
                path = assertion.findtext("con:configuration/path", namespaces=NS)
                expected = expand(assertion.findtext("con:configuration/content", namespaces=NS), properties, responses)
                actual = evaluate(document, expand(path, properties, responses))
                assert actual == expected, f"{name}: {path} is {actual!r}, not {expected!r}"
            else:
                pytest.fail(f"{name}: an assertion of type {kind} that this replay does not know")
