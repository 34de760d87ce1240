"""The batch-invariance rewrite (training/batch_invariant.py): which ops it touches, how, and that
it is idempotent. Its numerical effect (bit-identical rows alone and in any batch) is checked
against onnxruntime in test/engine/batch-invariance.test.ts; Python here has no onnxruntime."""
import onnx
from onnx import TensorProto, helper

from training.batch_invariant import PACKET, PREFIX, make_batch_invariant, repeat_factor


def _graph():
    """Log on [N], Sin on [N, 8], Sigmoid on [N, 16] and on a value of unknown shape."""
    nodes = [
        helper.make_node("Log", ["s"], ["log_s"], name="log"),
        helper.make_node("Sin", ["e"], ["sin_e"], name="sin"),
        helper.make_node("Sigmoid", ["h"], ["sig_h"], name="sig"),
        helper.make_node("Reshape", ["h", "shape"], ["h2"], name="reshape"),
        helper.make_node("Sigmoid", ["h2"], ["sig_h2"], name="sig2"),
        helper.make_node("Relu", ["e"], ["relu_e"], name="relu"),
    ]
    inputs = [helper.make_tensor_value_info("s", TensorProto.FLOAT, ["N"]),
              helper.make_tensor_value_info("e", TensorProto.FLOAT, ["N", 8]),
              helper.make_tensor_value_info("h", TensorProto.FLOAT, ["N", 16]),
              helper.make_tensor_value_info("shape", TensorProto.INT64, [2])]
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n, shape in
               [("log_s", ["N"]), ("sin_e", ["N", 8]), ("sig_h", ["N", 16]), ("sig_h2", ["A", "B"]), ("relu_e", ["N", 8])]]
    return helper.make_model(helper.make_graph(nodes, "g", inputs, outputs), opset_imports=[helper.make_opsetid("", 17)])


def test_repeat_factor_makes_rows_whole_packets():
    for per_row in (1, 2, 3, 8, 10, 16, 24, 64, 1000):
        k = repeat_factor(per_row)
        assert (per_row * k) % PACKET == 0
        assert k == 1 or (per_row * k // 2) % PACKET != 0  # the smallest such factor
    assert repeat_factor(1) == 16 and repeat_factor(8) == 2 and repeat_factor(64) == 1


def test_rewrites_small_transcendental_ops_only():
    m = _graph()
    assert make_batch_invariant(m) == 2  # Log on [N] and Sin on [N, 8]
    by_out = {o: n for n in m.graph.node for o in n.output}
    # log_s = Gather(Log(Expand(Unsqueeze(s, -1), [16])), 0, axis=-1)
    gather = by_out["log_s"]
    assert gather.op_type == "Gather" and helper.get_attribute_value(gather.attribute[0]) == -1
    log = by_out[gather.input[0]]
    assert log.op_type == "Log"
    expand = by_out[log.input[0]]
    assert expand.op_type == "Expand"
    init = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    assert list(init[expand.input[1]]) == [16]
    assert by_out[expand.input[0]].op_type == "Unsqueeze" and by_out[expand.input[0]].input[0] == "s"
    sin = by_out[by_out["sin_e"].input[0]]
    assert list(init[by_out[sin.input[0]].input[1]]) == [2]
    # whole-packet rows, unknown shapes and other ops are untouched
    assert by_out["sig_h"].input == ["h"] and by_out["sig_h2"].input == ["h2"] and by_out["relu_e"].input == ["e"]
    assert all(k.startswith(PREFIX + "/") for k in init)
    onnx.checker.check_model(m)


def test_idempotent():
    m = _graph()
    make_batch_invariant(m)
    before = m.SerializeToString()
    assert make_batch_invariant(m) == 0
    assert m.SerializeToString() == before
