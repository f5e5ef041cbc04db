"""Rebuilding the packaged Moonshine base-en model into a fast, plain-ONNX int8 model (one-off).

`moonshine-cpp` ships the model as ONNX Runtime `.ort` flatbuffers whose 8-bit weights are
expanded back to float32 by Cast/Sub/Mul nodes on every decoder step. The build:

1. reads each `.ort` file with the flatbuffer bindings onnxruntime ships
   (`onnxruntime.tools.ort_format_model.ort_flatbuffers_py`) and writes the same graph as ONNX
   (nodes, initializers, inputs/outputs with their types, opsets, and the merged decoder's `If`
   subgraphs);
2. lets onnxruntime's BASIC optimisation constant-fold the dequantisation into float32 weights
   (`optimized_model_filepath`), and checks the float model gives the packaged model's text;
3. quantises the MatMul weights to int8 per output channel (`quantize_dynamic`, subgraphs
   included): per-tensor int8 costs ~2 points of WER on telephone prompts, per-channel none.

Everything is deterministic: the same package and toolchain give byte-identical files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

ENCODER, DECODER, TOKENIZER = "encoder.onnx", "decoder.onnx", "tokenizer.bin"
_PACKAGED = {ENCODER: "encoder_model.ort", DECODER: "decoder_model_merged.ort"}
_ONNX_DOMAINS = ("", "ai.onnx")


def _s(raw: bytes | None) -> str:
    return raw.decode("utf-8") if raw else ""


def _tensor(t: Any) -> Any:
    from onnx import TensorProto

    proto = TensorProto()
    proto.name = _s(t.Name())
    if t.DocString():
        proto.doc_string = _s(t.DocString())
    proto.dims.extend(t.Dims(i) for i in range(t.DimsLength()))
    proto.data_type = t.DataType()
    if t.DataType() == TensorProto.STRING:
        proto.string_data.extend(t.StringData(i) for i in range(t.StringDataLength()))
    elif t.RawDataLength():
        proto.raw_data = t.RawDataAsNumpy().tobytes()
    return proto


def _value_info(arg: Any) -> Any:
    """An ONNX ValueInfoProto from an ORT NodeArg (tensor types only: all Moonshine has)."""
    from onnx import ValueInfoProto
    from onnxruntime.tools.ort_format_model.ort_flatbuffers_py import fbs  # type: ignore[import-untyped]

    info = ValueInfoProto()
    info.name = _s(arg.Name())
    type_info = arg.Type()
    if type_info is None or type_info.ValueType() != fbs.TypeInfoValue.TypeInfoValue.tensor_type:
        return info
    table = type_info.Value()
    tensor = fbs.TensorTypeAndShape.TensorTypeAndShape()
    tensor.Init(table.Bytes, table.Pos)
    info.type.tensor_type.elem_type = tensor.ElemType()
    shape = tensor.Shape()
    if shape is not None:
        out = info.type.tensor_type.shape
        out.SetInParent()
        for i in range(shape.DimLength()):
            dim, value = out.dim.add(), shape.Dim(i).Value()
            if value is None:
                continue
            if value.DimType() == fbs.DimensionValueType.DimensionValueType.VALUE:
                dim.dim_value = value.DimValue()
            elif value.DimType() == fbs.DimensionValueType.DimensionValueType.PARAM:
                dim.dim_param = _s(value.DimParam())
    return info


def _attribute(a: Any, domains: set[str]) -> Any:
    from onnx import AttributeProto

    proto = AttributeProto()
    proto.name = _s(a.Name())
    proto.type = a.Type()
    kind = AttributeProto.AttributeType
    if a.Type() == kind.FLOAT:
        proto.f = a.F()
    elif a.Type() == kind.INT:
        proto.i = a.I()
    elif a.Type() == kind.STRING:
        proto.s = a.S() or b""
    elif a.Type() == kind.TENSOR:
        proto.t.CopyFrom(_tensor(a.T()))
    elif a.Type() == kind.GRAPH:
        proto.g.CopyFrom(_graph(a.G(), proto.name, domains))
    elif a.Type() == kind.FLOATS:
        proto.floats.extend(a.Floats(i) for i in range(a.FloatsLength()))
    elif a.Type() == kind.INTS:
        proto.ints.extend(a.Ints(i) for i in range(a.IntsLength()))
    elif a.Type() == kind.STRINGS:
        proto.strings.extend(a.Strings(i) for i in range(a.StringsLength()))
    elif a.Type() == kind.TENSORS:
        proto.tensors.extend(_tensor(a.Tensors(i)) for i in range(a.TensorsLength()))
    elif a.Type() == kind.GRAPHS:
        proto.graphs.extend(_graph(a.Graphs(i), proto.name, domains) for i in range(a.GraphsLength()))
    else:
        raise ValueError(f"unsupported attribute type {a.Type()} ({proto.name})")
    return proto


def _graph(g: Any, name: str, domains: set[str]) -> Any:
    """An ONNX GraphProto from an ORT Graph; nodes in a stable topological order."""
    from onnx import GraphProto, NodeProto

    graph = GraphProto()
    graph.name = name
    args = {_s(g.NodeArgs(i).Name()): g.NodeArgs(i) for i in range(g.NodeArgsLength())}
    graph.initializer.extend(_tensor(g.Initializers(i)) for i in range(g.InitializersLength()))
    inputs = [_s(g.Inputs(i)) for i in range(g.InputsLength())]
    graph.input.extend(_value_info(args[n]) for n in inputs)
    graph.output.extend(_value_info(args[_s(g.Outputs(i))]) for i in range(g.OutputsLength()))
    nodes: list[tuple[Any, list[str]]] = []
    for j in range(g.NodesLength()):
        n = g.Nodes(j)
        if n.Type() != 0:
            raise ValueError(f"fused node {_s(n.Name())} cannot be written as ONNX")
        proto = NodeProto()
        proto.name, proto.op_type, proto.domain = _s(n.Name()), _s(n.OpType()), _s(n.Domain())
        proto.input.extend(_s(n.Inputs(i)) for i in range(n.InputsLength()))
        proto.output.extend(_s(n.Outputs(i)) for i in range(n.OutputsLength()))
        proto.attribute.extend(_attribute(n.Attributes(i), domains) for i in range(n.AttributesLength()))
        domains.add(proto.domain)
        needs = [*proto.input, *(_s(n.ImplicitInputs(i)) for i in range(n.ImplicitInputsLength()))]
        nodes.append((proto, needs))
    produced = {out for proto, _ in nodes for out in proto.output}
    ready = set(inputs) | {t.name for t in graph.initializer}
    while nodes:  # Kahn, keeping the stored order among ready nodes (outer-scope names are ready)
        left = []
        for proto, needs in nodes:
            if all(not x or x in ready or x not in produced for x in needs):
                graph.node.append(proto)
                ready.update(proto.output)
            else:
                left.append((proto, needs))
        if len(left) == len(nodes):
            raise ValueError(f"cycle in graph {name}")
        nodes = left
    return graph


def ort_to_onnx(ort_path: Path) -> Any:
    """The ONNX ModelProto of an ORT-format model file."""
    from onnx import ModelProto
    from onnxruntime.tools.ort_format_model.ort_flatbuffers_py import fbs

    buf = ort_path.read_bytes()
    model = fbs.InferenceSession.InferenceSession.GetRootAs(buf, 0).Model()
    domains: set[str] = set()
    proto = ModelProto()
    proto.ir_version = model.IrVersion()
    proto.producer_name = _s(model.ProducerName())
    proto.producer_version = _s(model.ProducerVersion())
    proto.graph.CopyFrom(_graph(model.Graph(), "main_graph", domains))
    for i in range(model.OpsetImportLength()):
        opset = model.OpsetImport(i)
        domain = _s(opset.Domain())
        if domain in domains or domain in _ONNX_DOMAINS:  # only what the graph uses
            entry = proto.opset_import.add()
            entry.domain, entry.version = domain, opset.Version()
    return proto


def fold_to_float(model: Any, out: Path) -> None:
    """Save `model`, then let onnxruntime's basic optimisation fold its constants into `out`."""
    import onnx
    import onnxruntime as ort  # type: ignore[import-untyped]

    raw = out.with_suffix(".raw.onnx")
    onnx.save_model(model, str(raw))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(out)
    options.intra_op_num_threads = 1
    ort.InferenceSession(str(raw), options, providers=["CPUExecutionProvider"])
    raw.unlink()


class _QuietQuantiser(logging.Filter):
    """quantize_dynamic logs a line per tensor (and advice to pre-process) on the root logger;
    only its errors are kept. Attached to the root logger, it does not see named loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


def quantise(src: Path, out: Path) -> None:
    """int8 weights per output channel for every MatMul with a constant weight, in subgraphs too."""
    from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-untyped]

    quiet = _QuietQuantiser()
    logging.getLogger().addFilter(quiet)
    try:
        quantize_dynamic(src, out, per_channel=True, op_types_to_quantize=["MatMul"],
                         weight_type=QuantType.QInt8, extra_options={"EnableSubgraph": True})
    finally:
        logging.getLogger().removeFilter(quiet)


def check_audio(packaged: Path) -> list[np.ndarray]:
    """A few utterances to compare builds on: the package's own test recording and parts of it."""
    import wave

    with wave.open(str(packaged.parent.parent / "test-data" / "beckett.wav"), "rb") as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    audio = pcm.astype(np.float32) / 32768.0
    return [audio, audio[:48000], audio[32000:112000]]


def build(packaged: Path, work: Path, transcribe: Callable[[Path, Path, np.ndarray], str]) -> dict[str, Any]:
    """Build `encoder.onnx` and `decoder.onnx` from the `.ort` files in `packaged` into `work`.
    `transcribe(encoder, decoder, audio)` decodes with a model pair (the engine's greedy decoder).
    Returns what was checked, for the manifest."""
    started = time.perf_counter()
    floats: dict[str, Path] = {}
    for name, source in _PACKAGED.items():
        floats[name] = work / f"float-{name}"
        fold_to_float(ort_to_onnx(packaged / source), floats[name])
    audio = check_audio(packaged)
    reference = [transcribe(packaged / _PACKAGED[ENCODER], packaged / _PACKAGED[DECODER], a) for a in audio]
    folded = [transcribe(floats[ENCODER], floats[DECODER], a) for a in audio]
    if folded != reference:
        raise RuntimeError(f"rebuilt float model disagrees with the packaged one: {folded} != {reference}")
    for name, src in floats.items():
        quantise(src, work / name)
        src.unlink()
    quantised = [transcribe(work / ENCODER, work / DECODER, a) for a in audio]
    agreement = _word_agreement(reference, quantised)
    if agreement < 0.8:
        raise RuntimeError(f"int8 model strays from the packaged one ({agreement:.2f}): {quantised}")
    return {"reference_text": reference, "int8_text": quantised, "int8_word_agreement": round(agreement, 3),
            "build_seconds": round(time.perf_counter() - started, 1)}


def _word_agreement(reference: list[str], hypothesis: list[str]) -> float:
    """1 - word edit distance / reference words, over all utterances."""
    edits = words = 0
    for ref_text, hyp_text in zip(reference, hypothesis, strict=True):
        ref, hyp = ref_text.lower().split(), hyp_text.lower().split()
        row = list(range(len(hyp) + 1))
        for i, r in enumerate(ref, 1):
            prev, row[0] = row[0], i
            for j, h in enumerate(hyp, 1):
                prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
        edits += row[-1]
        words += len(ref)
    return 1.0 - edits / max(words, 1)
