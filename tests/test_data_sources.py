"""Speech Commands v2, MSWC and own-recording loaders on fixtures laid out exactly like the
real archives; fetch with resume and checksum against a loopback HTTP server."""

import hashlib
import http.server
import io
import tarfile
import threading

import numpy as np
import pytest
import soundfile as sf

from kws.data import sources
from kws.data.ingest import ingest
from kws.data.task import load_task
from kws.errors import KwsError
from test_data_validate import word, write


@pytest.fixture(scope="module")
def task():
    return load_task("commands")


@pytest.fixture
def sc_root(tmp_path):
    """A miniature Speech Commands v2 tree."""
    rng = np.random.default_rng(0)
    root = tmp_path / "speech_commands_v0.02"
    files = {}
    for w in ("yes", "no", "marvin", "bird"):
        for spk in ("0a7c2a8d", "1b4c9b89", "2c5d0c90"):
            for n in range(2):
                rel = f"{w}/{spk}_nohash_{n}.wav"
                write(root / rel, word(rng, ms=400 + 50 * n))
                files[rel] = spk
    (root / "validation_list.txt").write_text(
        "yes/1b4c9b89_nohash_0.wav\nyes/1b4c9b89_nohash_1.wav\nno/1b4c9b89_nohash_0.wav\n"
    )
    (root / "testing_list.txt").write_text("yes/2c5d0c90_nohash_0.wav\nbird/2c5d0c90_nohash_1.wav\n")
    write(root / "_background_noise_" / "white_noise.wav", np.round(rng.normal(0, 800, 16000 * 5)).astype(np.int16))
    write(
        root / "_background_noise_" / "tone_8k.wav",
        np.round(3000 * np.sin(np.arange(8000 * 3) / 7)).astype(np.int16),
        rate=8000,
    )
    return root


def test_speech_commands_honours_the_official_split(task, sc_root, tmp_path):
    clips = sources.speech_commands(sc_root, task, cache=tmp_path / "seg")
    by = {c.origin["key"]: c for c in clips}
    assert by["yes/1b4c9b89_nohash_0.wav"].split == "val"
    assert by["yes/2c5d0c90_nohash_0.wav"].split == "test"
    assert by["bird/2c5d0c90_nohash_1.wav"].split == "test"
    assert by["yes/0a7c2a8d_nohash_0.wav"].split == "train"
    assert by["bird/0a7c2a8d_nohash_0.wav"].label == "_unknown_"
    assert by["marvin/0a7c2a8d_nohash_0.wav"].label == "_unknown_"  # a keyword of another task
    assert by["no/0a7c2a8d_nohash_1.wav"].speaker == "sc:0a7c2a8d"
    bg = [c for c in clips if c.label == "_silence_"]
    assert len(bg) == 5 + 3  # 1 s segments of each file
    man = ingest(clips, task, tmp_path / "out", workers=1, progress=False)
    assert {e["split"] for e in man["entries"] if e["origin"].get("word") == "yes"} == {"train", "val", "test"}
    assert any("resampled_from" in e["origin"] and e["origin"]["resampled_from"] == 8000 for e in man["entries"])


def test_speech_commands_layout_errors(task, tmp_path):
    with pytest.raises(KwsError, match="not a directory"):
        sources.speech_commands(tmp_path / "nope", task)
    (tmp_path / "x").mkdir()
    with pytest.raises(KwsError, match="validation_list.txt: missing"):
        sources.speech_commands(tmp_path / "x", task)


def test_mswc_opus_and_splits_csv(task, tmp_path):
    rng = np.random.default_rng(1)
    root = tmp_path / "mswc"
    rows = ["SET,LINK,WORD,VALID,SPEAKER,GENDER"]
    from kws.data.tts import resample_int16

    for i, (w, s, spk) in enumerate(
        [
            ("yes", "TRAIN", "aa"),
            ("yes", "DEV", "bb"),
            ("stop", "TEST", "cc"),
            ("hello", "TRAIN", "aa"),
            ("go", "TRAIN", "dd"),
        ]
    ):
        link = f"{w}/common_voice_en_{i}.opus"
        pcm = resample_int16(word(rng, ms=450), 16000, 48000)
        sf.write(
            str((root / "en" / "clips" / w).mkdir(parents=True, exist_ok=True) or root / "en" / "clips" / link),
            pcm,
            48000,
            format="OGG",
            subtype="OPUS",
        )
        rows.append(f"{s},{link},{w},{'False' if w == 'go' else 'True'},{spk},NAN")
    (root / "en_splits.csv").write_text("\n".join(rows) + "\n")
    clips = sources.mswc(root, task)
    assert [(c.label, c.split) for c in clips] == [
        ("yes", "train"),
        ("yes", "val"),
        ("stop", "test"),
        ("_unknown_", "train"),
    ]  # invalid 'go' row skipped
    man = ingest(clips, task, tmp_path / "out", workers=1, progress=False)
    assert len(man["entries"]) == 4
    assert all(any("resample 48000 -> 16000" in c for c in e["conversions"]) for e in man["entries"])


def test_recordings_folder(task, tmp_path):
    rng = np.random.default_rng(2)
    for lab, f in [("yes", "ann_01.wav"), ("yes", "bob_01.wav"), ("_unknown_", "ann_02.wav")]:
        write(tmp_path / "rec" / lab / f, word(rng, ms=420))
    clips = sources.recordings(tmp_path / "rec", task)
    assert sorted((c.label, c.speaker) for c in clips) == [
        ("_unknown_", "rec:ann"),
        ("yes", "rec:ann"),
        ("yes", "rec:bob"),
    ]
    (tmp_path / "rec" / "maybe").mkdir()
    with pytest.raises(KwsError, match="'maybe' is not a label"):
        sources.recordings(tmp_path / "rec", task)


def test_an_unreadable_directory_is_quarantined_and_the_run_goes_on(task, tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    write(tmp_path / "rec" / "yes" / "ann_01.wav", word(rng))
    write(tmp_path / "rec" / "no" / "ann_01.wav", word(rng, ms=500))
    real_iterdir = type(tmp_path).iterdir

    def iterdir(self):
        if self.name == "no":
            raise PermissionError(13, "Permission denied")
        return real_iterdir(self)

    monkeypatch.setattr(type(tmp_path), "iterdir", iterdir)  # root ignores chmod, so simulate it
    clips = sources.recordings(tmp_path / "rec", task)
    man = ingest(clips, task, tmp_path / "out", workers=1, progress=False)
    import json

    q = json.loads((tmp_path / "out" / "quarantine.json").read_text())
    assert len(man["entries"]) == 1
    assert q[0]["reasons"][0]["code"] == "unreadable" and "directory not readable" in q[0]["reasons"][0]["detail"]


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    payload = b""

    def do_GET(self):  # noqa: N802
        data = type(self).payload
        rng = self.headers.get("Range")
        start = int(rng.split("=")[1].split("-")[0]) if rng else 0
        self.send_response(206 if rng else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, *a):
        pass


@pytest.fixture
def server():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        content = b"hello" * 1000
        info = tarfile.TarInfo("speech_commands/README.md")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    _RangeHandler.payload = buf.getvalue()
    srv = http.server.HTTPServer(("127.0.0.1", 0), _RangeHandler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}/sc.tar.gz", _RangeHandler.payload
    srv.shutdown()


def test_fetch_resumes_checks_and_extracts(server, tmp_path):
    url, payload = server
    sha = hashlib.sha256(payload).hexdigest()
    dest = tmp_path / "sc.tar.gz"
    (tmp_path / "sc.tar.gz.part").write_bytes(payload[:100])  # an interrupted earlier download
    sources.fetch(url, dest, sha256=sha, extract_to=tmp_path / "x", progress=False)
    assert dest.read_bytes() == payload
    assert (tmp_path / "x" / "speech_commands" / "README.md").read_bytes() == b"hello" * 1000


def test_fetch_refuses_a_bad_checksum_and_says_when_offline(server, tmp_path):
    url, _ = server
    with pytest.raises(KwsError, match="sha256 .* differs"):
        sources.fetch(url, tmp_path / "a.tar.gz", sha256="0" * 64, progress=False)
    assert not (tmp_path / "a.tar.gz").exists()
    with pytest.raises(KwsError, match="cannot reach"):
        sources.fetch("http://127.0.0.1:9/none.tar.gz", tmp_path / "b.tar.gz", timeout=2, progress=False)
