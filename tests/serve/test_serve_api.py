"""The HTTP API: predictions, model info, docs, limits, and every kind of bad input."""

import json
import logging

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

import textrnn  # noqa: E402
from textrnn.serve import Limits, create_app, load_for_serving  # noqa: E402

GOOD = {"texts": ["Wonderful film, excellent and very good.", "Awful plot, bad and boring."]}


@pytest.fixture(scope="module")
def predictor(tiny_run):
    return load_for_serving(tiny_run)


@pytest.fixture(scope="module")
def client(predictor):
    limits = Limits(max_texts=8, max_chars=200, max_body_bytes=4000)
    with TestClient(create_app(predictor, limits), raise_server_exceptions=False) as c:
        yield c


def _ok(client):
    r = client.post("/predict", json=GOOD)
    assert r.status_code == 200, r.text
    return r.json()


def test_predict_returns_the_predictors_labels_and_probabilities(client, predictor):
    body = _ok(client)
    expected = predictor.predict_proba(GOOD["texts"])
    assert len(body["predictions"]) == 2
    for row, p in zip(expected, body["predictions"], strict=True):
        assert list(p["probabilities"]) == predictor.label_names
        np.testing.assert_allclose(list(p["probabilities"].values()), row, rtol=1e-6)
        assert p["label"] == predictor.label_names[int(row.argmax())]
        assert p["probability"] == pytest.approx(float(row.max()))
    assert [p["label"] for p in body["predictions"]] == [
        "pos",
        "neg",
    ]  # the tiny run has learnt the toy words


def test_health_and_model(client, tiny_run, predictor):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["batches"] >= 0
    info = client.get("/model").json()
    assert info["labels"] == ["neg", "pos"] and info["kind"] == "single"
    assert info["parameters"] == predictor.model.count_params() > 0
    assert info["metrics"] == json.loads((tiny_run / "metrics.json").read_text())
    assert info["config"]["format"] == "textrnn.run" and info["config"]["options"]["rnn"] == "lstm"
    assert len(info["history"]["val_acc"]) == 8


def test_docs_are_served_without_a_cdn(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "docs-static/swagger-ui-bundle.js" in page.text
    assert client.get("/docs-static/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs-static/swagger-ui.css").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"/predict", "/explain", "/health", "/model"} <= set(schema["paths"])
    refused = schema["paths"]["/predict"]["post"]["responses"]["422"]["content"]["application/json"]
    assert refused["schema"]["$ref"].endswith("/ErrorOut")  # the documented error is the real one


def test_the_page_is_self_contained(client):
    page = client.get("/").text
    assert '<form id="form">' in page and "<svg" in page and 'id="metrics"' in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    assert "<script src" not in page and "<link" not in page


BAD = [
    ("empty list", '{"texts": []}', 422, "`texts` is empty"),
    ("empty text", '{"texts": [""]}', 422, "`texts[0]` is empty"),
    ("blank text", '{"texts": ["ok", "   "]}', 422, "`texts[1]` is empty"),
    ("punctuation only", '{"texts": ["?!... ---"]}', 422, "no words"),
    ("invalid json", '{"texts": ["a"', 422, "not valid JSON"),
    ("not utf-8", b'{"texts": ["\xff"]}', 422, "not valid JSON"),
    ("a string", '{"texts": "a string"}', 422, "`texts` must be a list of strings, got a string"),
    ("a number", '{"texts": 3}', 422, "`texts` must be a list of strings, got a number"),
    ("null", '{"texts": null}', 422, "`texts` must be a list of strings, got null"),
    ("number in list", '{"texts": ["ok", 5]}', 422, "`texts[1]` must be a string, got a number"),
    ("null in list", '{"texts": [null]}', 422, "`texts[0]` must be a string, got null"),
    ("list body", '["a"]', 422, "must be a JSON object, got a list"),
    ("missing field", '{"text": ["a"]}', 422, "`texts` is missing"),
    ("unknown field", '{"texts": ["a"], "x": 1}', 422, "Unknown field `x`"),
    ("NUL byte", '{"texts": ["good\\u0000film"]}', 422, "NUL character"),
    ("lone surrogate", '{"texts": ["good \\ud83d film"]}', 422, "lone surrogate (\\ud83d)"),
    ("too many texts", json.dumps({"texts": ["good"] * 9}), 422, "the limit is 8 per request"),
    ("text too long", json.dumps({"texts": ["good " * 41]}), 422, "the limit is 200 per text"),
    (
        "body too large",
        json.dumps({"texts": ["good"] * 1000}),
        413,
        "over the limit of 4,000 bytes",
    ),
]


@pytest.mark.parametrize(("body", "status", "needle"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_a_json_4xx_naming_the_problem_and_the_server_goes_on(client, body, status, needle):
    r = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    error = r.json()
    assert error["status"] == status and needle in error["error"], error
    assert "Traceback" not in r.text
    _ok(client)


def test_a_body_streamed_past_the_limit_is_refused_without_reading_it_all(client):
    def chunks():
        yield b'{"texts": ["'
        for _ in range(100):
            yield b"good " * 20
        yield b'"]}'

    r = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "4,000 bytes" in r.json()["error"]
    _ok(client)


def test_no_content_type_is_named(client):
    r = client.post("/predict", content=b'{"texts": ["good"]}')
    assert r.status_code == 422 and "application/json" in r.json()["error"]


def test_explain_endpoint(client, predictor):
    r = client.post("/explain", json={"text": "Wonderful film, excellent plot."})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["label"] == "pos" and [w["word"] for w in body["words"]] == [
        "wonderful",
        "film",
        "excellent",
        "plot",
    ]
    assert body == predictor.explain("Wonderful film, excellent plot.").to_dict()
    bad = client.post("/explain", json={"text": 3})
    assert bad.status_code == 422 and "`text` must be a string, got a number" in bad.json()["error"]


def test_a_server_error_is_json_without_a_traceback(predictor, monkeypatch, caplog):
    class Broken:
        label_names = predictor.label_names
        path = predictor.path
        model = predictor.model
        calls = 0

        def predict_proba(self, texts):
            Broken.calls += 1
            if Broken.calls == 1:
                raise RuntimeError("secret internal detail")
            return predictor.predict_proba(texts)

    with (
        TestClient(create_app(Broken()), raise_server_exceptions=False) as c,
        caplog.at_level(logging.ERROR),
    ):
        r = c.post("/predict", json=GOOD)
        assert r.status_code == 500 and r.json()["status"] == 500
        assert "secret" not in r.text and "Traceback" not in r.text
        assert "secret internal detail" in caplog.text  # the log keeps it
        assert c.post("/predict", json=GOOD).status_code == 200  # and the server goes on


def test_one_log_line_per_request(client, caplog):
    with caplog.at_level(logging.INFO, logger="textrnn.serve"):
        _ok(client)
        client.post("/predict", content='{"texts": 1}', headers={"content-type": "application/json"})
    lines = [r.getMessage() for r in caplog.records if r.name == "textrnn.serve"]
    assert len(lines) == 2
    assert lines[0].startswith("POST /predict 200 texts=2 ") and lines[0].endswith("ms")
    assert lines[1].startswith("POST /predict 422 texts=0 ")


def test_an_ensemble_is_served(tiny_ensemble):
    predictor = textrnn.load(tiny_ensemble)
    with TestClient(create_app(load_for_serving(tiny_ensemble))) as c:
        info = c.get("/model").json()
        assert info["kind"] == "ensemble" and info["members"] == 2
        assert info["parameters"] == sum(m.model.count_params() for m in predictor.members)
        body = c.post("/predict", json=GOOD).json()
        np.testing.assert_allclose(
            [list(p["probabilities"].values()) for p in body["predictions"]],
            predictor.predict_proba(GOOD["texts"]),
            rtol=1e-6,
        )
        assert c.post("/explain", json={"text": "good film"}).status_code == 200
