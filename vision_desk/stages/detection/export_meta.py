"""What Ultralytics records about an exported model (task, input size, classes), read and checked.

Ultralytics writes ``metadata.yaml`` beside an OpenVINO export and the same
fields into an ONNX file's metadata. Only the fields the stages use are
checked; the rest are ignored, so a newer Ultralytics' exports still load.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, field_validator

from vision_desk.config_files import check, read_yaml

Positive = Annotated[int, Field(ge=1)]


class ExportMetadata(BaseModel):
    """The export metadata the stages use."""

    task: str | None = None
    imgsz: tuple[Positive, Positive] | None = None  # (height, width)
    dynamic: bool | None = None
    kpt_shape: tuple[Positive, Positive] | None = None
    batch: Positive | None = None
    names: dict[int, Annotated[str, BeforeValidator(str)]] | None = None  # a class may be named 7: it is still a name

    @field_validator("imgsz", mode="before")
    @classmethod
    def _square(cls, value: Any) -> Any:
        return (value, value) if isinstance(value, int) and not isinstance(value, bool) else value


def export_metadata(path: Path) -> dict[str, Any]:
    """What Ultralytics wrote beside or inside an export: task, imgsz, dynamic, kpt_shape, batch, names ({} when none).

    Raises:
        ConfigError: the metadata is there but malformed (one sentence naming the file and the field).
    """
    meta_file = path / "metadata.yaml" if path.is_dir() else path.with_name("metadata.yaml")
    where = str(meta_file)
    raw: Any = {}
    if meta_file.is_file():
        raw = read_yaml(meta_file, "export metadata file") or {}
    elif path.suffix.lower() == ".onnx":
        where = f"{path} (its metadata)"
        raw = _onnx_metadata(path)
    if not isinstance(raw, dict):
        raw = {}  # not Ultralytics' metadata at all: the model is asked instead, as with none
    return check(ExportMetadata, raw, where, "export the model again").model_dump(exclude_unset=True)


def _onnx_metadata(path: Path) -> dict[str, Any]:
    try:
        import onnx

        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    except Exception:  # noqa: BLE001 - a corrupt file is reported by the loader itself
        return {}
    raw: dict[str, Any] = {}
    for key, value in props.items():
        try:
            raw[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raw[key] = value
    return raw
