"""Property-based fuzzing (Hypothesis) of what users type and write: pipeline files, ``--set`` values, source URIs.

Each must either work or end in the project's own error with one line of message, never another exception; and a
password in a URI never survives masking. Runs are derandomized (the same examples on every machine and run).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vision_desk.engine.pipeline import apply_overrides, load_spec, spec_from_dict
from vision_desk.engine.sources import open_source
from vision_desk.engine.stage import all_stages
from vision_desk.engine.uri import mask_uri, parse_uri
from vision_desk.errors import VisionDeskError

FUZZ = settings(derandomize=True, database=None, print_blob=False, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
STAGES = all_stages()
STAGE_IDS = sorted(STAGES)
PARAM_NAMES = sorted({name for cls in STAGES.values() for name in cls.Params.model_fields})

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from([math.nan, math.inf, -math.inf, 10**400, -1, 0, 1e308, "", "\n", "ü\u202e", "1e999", "0x10"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)
keys = st.one_of(st.sampled_from(PARAM_NAMES), st.text(max_size=12), st.integers(), st.booleans(), st.none())
stage_entries = st.one_of(
    st.fixed_dictionaries({"stage": st.sampled_from(STAGE_IDS),
                           "params": st.dictionaries(keys, values, max_size=4)},
                          optional={"enabled": values}),
    st.fixed_dictionaries({"stage": st.one_of(st.sampled_from(STAGE_IDS), st.text(max_size=12), values)},
                          optional={"params": values, "enabled": st.booleans(), "extra": values}),
    values,
)
documents = st.one_of(
    st.fixed_dictionaries({"stages": st.lists(stage_entries, max_size=4)},
                          optional={"name": values, "source": values, "description": values}),
    st.dictionaries(st.one_of(st.sampled_from(["stages", "name", "source"]), keys), values, max_size=4),
    values,
)


def assert_one_line(err: VisionDeskError) -> None:
    message = str(err)
    assert len(message.splitlines()) == 1 and message.strip(), repr(message)


def loads_or_says_why(load, *args) -> None:  # noqa: ANN001 - any loader
    try:
        load(*args)
    except VisionDeskError as err:
        assert_one_line(err)


@settings(FUZZ, max_examples=400)
@given(documents)
@example({"stages": [{"stage": "blur", "params": {1: 2}}]})  # a key that is not text
@example({"stages": [{"stage": "blur", "extra": 1, 2: 3}]})  # unknown keys that cannot be sorted together
@example({"stages": [], 1: 2, "x": 3})
@example({"stages": [{"stage": "blur\nnext line"}]})
@example({"stages": [{"stage": "blur", "params": {"ksize\n": 3}}]})
@example({"stages": [{"stage": ["blur"]}]})  # an unhashable stage id
@example({"stages": [{"stage": "blur"}], "name": {"a": 1}, "source": [1, 2]})
def test_pipeline_documents_load_or_raise_one_line(document: object) -> None:
    loads_or_says_why(spec_from_dict, document, "fuzz.yaml")


@settings(FUZZ, max_examples=250)
@given(st.one_of(st.text(max_size=200), documents.map(lambda d: yaml.safe_dump(d, allow_unicode=True))))
@example("a: &a [*a]")  # a self-referencing alias
@example("stages:\n- stage: blur\n  params: {ksize: &x [" + "*x, " * 3 + "1]}")
@example("- " * 2000 + "x")  # deeply nested
@example("stages: [{stage: blur, params: {ksize: .nan}}]")
@example("\ufeffstages: []")
@example("stages: []\ncreated: 2024-13-45")
@example("x: " + "[" * 60_000 + "]" * 60_000)  # libyaml crashed the process (SIGSEGV) on this 120 kB file
@example("x: " + "- " * 60_000 + "1")
@example("x: '[[[[' # [[[[\n" * 100)  # brackets in quotes and comments do not nest  # a date PyYAML parses and datetime refuses (ValueError)
@example("stages: [{stage: blur, params: {ksize: " + "9" * 5000 + "}}]")  # past Python's 4300-digit int limit
@example("stages: [{stage: blur, params: {ksize: " + "[" * 3000 + "]" * 3000 + "}}]")
def test_pipeline_files_load_or_raise_one_line(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        loads_or_says_why(load_spec, path)


BASE = spec_from_dict({"stages": [{"stage": "blur"}, {"stage": "motion"}, {"stage": "threshold"}, {"stage": "blur"}]})
targets = st.one_of(st.sampled_from(["blur", "motion", "threshold", "blur#2", "blur#3", "blur#0", "blur#²"]),
                    st.text(max_size=10))
params = st.one_of(st.sampled_from(sorted({n for s in ("blur", "motion", "threshold")
                                           for n in STAGES[s].Params.model_fields})), st.text(max_size=10))
raw_values = st.one_of(st.text(max_size=30), values.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip()),
                       st.sampled_from([".nan", ".inf", "1e999", "[1, [2, [3]]]", "{a: 1}", "&a [*a]", "!!python/object:os.system x", "9" * 400,
                                        "2024-13-45", "[" * 1500]))


@settings(FUZZ, max_examples=300)
@given(st.one_of(st.builds(lambda t, p, v: f"{t}.{p}={v}", targets, params, raw_values), st.text(max_size=40)))
@example("blur#².ksize=3")  # a digit that is not 0-9
@example("blur.ksize=&a [*a]")
@example("\x85.block_size=")
@example("blur.ksize=" + "[" * 3000)  # past Python's recursion limit in PyYAML's own loader
@example("blur.ksize=2024-13-45")
@example("blur.ksize=" + "9" * 5000)  # a stage name with a line break in it (U+0085)
def test_set_values_apply_or_raise_one_line(item: str) -> None:
    loads_or_says_why(apply_overrides, BASE, [item])


uri_text = st.one_of(
    st.text(max_size=60),
    st.builds(lambda scheme, rest: f"{scheme}{rest}",
              st.sampled_from(["rtsp://", "http://", "https://", "web:", "web:https://", "cam:", "screen:", "demo:",
                               "udp://", "srt://", "file://", "RTSP://", ""]),
              st.text(max_size=40)),
)


@settings(FUZZ, max_examples=500)
@given(uri_text)
@example("²")  # a digit that is not 0-9 is no camera index
@example("cam:²")
@example("screen:?fps=abc")
@example("demo:?fps=abc")
@example("cam:0?width=abc")
@example("rtsp://[::1")
@example("~0")  # the home folder of a user that does not exist
@example("web:https://x/watch?height=²")
@example("screen:x")
@example("screen:?region=1,2")
@example("http://[x/clip.mp4")
def test_source_uris_parse_or_raise_one_line(text: str) -> None:
    try:
        parse_uri(text)
        open_source(text)  # built, not opened: nothing here may touch the network
    except VisionDeskError as err:
        assert_one_line(err)


secret = st.text(st.characters(codec="utf-8", exclude_characters="\n\r\t \x00"), min_size=6, max_size=20)
user = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=0, max_size=8)


@settings(FUZZ, max_examples=500)
@given(st.sampled_from(["rtsp", "rtsps", "rtmp", "http", "https", "srt", "web:https"]), user, secret,
       st.sampled_from(["cam.local", "10.0.0.5:554", "[::1]:8554", "host"]),
       st.sampled_from(["", "/live", "/h264/ch1?channel=1", "/a@b/video.mjpg", "/x#frag"]))
@example("rtsp", "admin", "pa/ss:word", "cam.local", "/live")  # a '/' in the password ends the host for urlsplit
@example("rtsp", "admin", "pa?ss#word", "cam.local", "/live")
@example("rtsp", "admin", "p@ss@word", "cam.local", "/live")
@example("http", "", "secret#1", "host", "/video.mjpg")
@example("rtsp", "", "0000[/", "cam.local", "")  # urlsplit refuses it (a '[' outside an IPv6 host)
@example("rtsp", "", "00000/", "cam.local", "")  # urlsplit sees host "", port "00000" and a path "/@cam.local"
def test_mask_uri_never_shows_a_password(scheme: str, name: str, password: str, host: str, path: str) -> None:
    uri = f"{scheme}://{name}:{password}@{host}{path}"
    masked = mask_uri(uri).replace("***:***@", "\0")  # a password may be spelled like the mask itself
    assert password not in masked or password in f"{scheme}://{host}{path}", (uri, masked)
