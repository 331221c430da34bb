"""Every image mode becomes the right 8-bit RGB, and a wrong size is flagged (issue 17, 8)."""

from __future__ import annotations

import io
import json
import sqlite3

import numpy as np
import pytest
from PIL import Image

from evalsuite.endpoints import PROTOCOLS
from evalsuite.endpoints.generator import run_endpoint
from evalsuite.endpoints.images import BACKGROUND, decode_image
from tests.evalsuite.endpoints.e2e import run_suite, suite_text
from tests.evalsuite.endpoints.faultserver import FaultServer, json_reply
from tests.evalsuite.endpoints.helpers import b64_answer, endpoint_job, png_bytes, stored

GEN = "/v1/images/generations"


def encode(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def gradient16(width: int = 64, height: int = 64) -> Image.Image:
    """A 16-bit greyscale gradient, 0 to 63630 (issue 17's image)."""
    values = np.linspace(0, 63630, width * height).reshape(height, width).astype(np.uint16)
    return Image.fromarray(values)


def rgb(data: bytes) -> np.ndarray:
    img = decode_image(data)
    assert img.mode == "RGB"
    return np.asarray(img).astype(int)


def test_16_bit_grey_is_scaled_not_clipped():
    out = rgb(encode(gradient16()))
    assert out[0, 0].tolist() == [0, 0, 0] and out[-1, -1].tolist() == [248, 248, 248]  # 63630 / 257
    assert abs(out.mean() - 63630 / 2 / 257) < 1  # PIL's own conversion gave 254


@pytest.mark.parametrize("mode", ["I;16B", "I"])
def test_other_16_bit_layouts(mode):
    img = gradient16().convert("I") if mode == "I" else gradient16()
    if mode == "I;16B":
        img = Image.frombytes("I;16B", img.size, np.asarray(img).astype(">u2").tobytes())
    out = rgb(encode(img, "TIFF"))
    assert out.max() == 248 and abs(out.mean() - 63630 / 2 / 257) < 1


def test_float_images_are_read_as_0_to_1():
    values = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    out = rgb(encode(Image.fromarray(values, "F"), "TIFF"))
    assert out.min() == 0 and out.max() == 255 and abs(out.mean() - 127.5) < 1


def test_transparency_goes_on_the_stated_background():
    rgba = Image.new("RGBA", (4, 4), (10, 20, 30, 0))
    rgba.putpixel((0, 0), (10, 20, 30, 255))
    out = rgb(encode(rgba))
    assert out[0, 0].tolist() == [10, 20, 30] and out[1, 1].tolist() == list(BACKGROUND)
    la = Image.new("LA", (2, 2), (0, 0))
    assert rgb(encode(la))[0, 0].tolist() == list(BACKGROUND)
    pal = Image.new("P", (2, 2), 0)
    pal.putpalette([200, 0, 0, 0, 0, 200])
    pal.putpixel((1, 1), 1)
    pal.info["transparency"] = 0
    out = rgb(encode(pal))
    assert out[0, 0].tolist() == list(BACKGROUND) and out[1, 1].tolist() == [0, 0, 200]


@pytest.mark.parametrize(("mode", "fmt"), [("CMYK", "JPEG"), ("1", "PNG"), ("L", "PNG"), ("P", "GIF")])
def test_plain_modes_convert(mode, fmt):
    img = Image.new("RGB", (8, 8), (255, 255, 255)).convert(mode)
    out = rgb(encode(img, fmt))
    assert out.min() >= 250  # white stays white


def test_wrong_size_is_flagged_and_both_sizes_are_recorded(tmp_path):
    with FaultServer() as srv:
        srv.script("POST", GEN, json_reply(b64_answer(png_bytes(7, 7))), json_reply(b64_answer()))
        out = run_endpoint(endpoint_job(tmp_path, srv.url + "/v1", n=2), PROTOCOLS["openai-images"]())
    assert out.ok == 2
    _, samples = stored(tmp_path)
    assert [s["status"] for s in samples] == ["flagged", "ok"]
    assert samples[0]["reason"] == "size mismatch: requested 32x16, delivered 7x7"
    with sqlite3.connect(tmp_path / "results.sqlite") as con:
        sizes = con.execute("SELECT req_width, req_height, width, height FROM endpoint_requests "
                            "WHERE outcome NOT LIKE 'probe:%' ORDER BY prompt_id").fetchall()
    assert sizes == [(32, 16, 7, 7), (32, 16, 32, 16)]


@pytest.mark.slow
def test_through_a_run_the_16_bit_image_is_right_and_the_small_one_is_counted(tmp_path, monkeypatch):
    monkeypatch.setenv("HOSTILE_KEY", "sk-e2e-not-a-real-key")
    with FaultServer() as srv:
        srv.script("POST", "/o/images/generations", json_reply(b64_answer(encode(gradient16()))),
                   json_reply(b64_answer(png_bytes(7, 7))), json_reply(b64_answer(png_bytes(64, 64))))
        text = suite_text([{"name": "oai", "protocol": "openai-images", "url": srv.url + "/o"}], limit=3)
        out, proc = run_suite(tmp_path, text)
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(out / "results.sqlite") as con:
        rows = con.execute("SELECT s.status, s.image FROM samples s JOIN variants v ON v.id = s.variant_id "
                           "WHERE v.name = 'oai'").fetchall()
        nan_scores = con.execute("SELECT reason FROM scores WHERE value IS NULL OR value != value").fetchall()
    assert sorted(status for status, _ in rows) == ["flagged", "ok", "ok"]
    means = [np.asarray(Image.open(out / rel)).astype(int).mean() for status, rel in rows if status == "ok"]
    assert any(abs(m - 63630 / 2 / 257) < 1 for m in means), means  # the 16-bit one was 254: all white
    assert any("size mismatch" in (r or "") for (r,) in nan_scores)  # not scored as if nothing happened
    oai = next(v for v in json.loads((out / "summary.json").read_text())["variants"] if v["name"] == "oai")
    assert oai["samples"]["flagged"] == 1
    assert oai["flags"] == {"size mismatch: requested 64x64, delivered 7x7": 1}
    assert "size mismatch: requested 64x64, delivered 7x7" in (out / "report" / "index.html").read_text()
