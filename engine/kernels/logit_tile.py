"""The readout's logits ``by + WyT.T @ h`` for a tile of positions, with the sums held in registers.

A tile is :data:`TILE_POSITIONS` positions by one panel of :data:`PANEL` logits. Its sums are LLVM
IR vectors (SSA values, so they stay in registers: numba loops over an array in memory load and
store it at every FMA group); each row j of the panel is loaded once for the whole tile and
multiplied by ``h[j]`` of each position (``fma``, j in order, from ``by``). So every logit of
every row is the same chain of roundings wherever its row falls in a tile (a short last tile
repeats its last row in the places past the end): a readout gives the same bits however it is
split. The kernel has one call site of the tile, so LLVM compiles one copy of it.

The panel's width follows the vector ISA numba compiles for (the registers are the budget): on
AVX-512, 6 positions x 64 logits are 24 of the 32 zmm, leaving the panel's 4 vectors; on AVX2,
6 x 16 are 12 of the 16 ymm, with the row's 2 (a wider AVX2 tile spills: 3 x 32 measured at 0.45
of the GEMM floor against 1.0). ``WyT`` is repacked panel by panel (:func:`panels`) so that each
panel is one contiguous stream. :func:`max_and_first` is the reduction that follows, in vectors
too (numba's own loops for it took as long as the 256 exps).
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from factormap.engine.kernels import aligned_copy
from factormap.engine.kernels.matvec import LANES, _const, _is_float32_c
from factormap.engine.kernels.vector_width import WIDE_VECTORS


#: Positions whose logits are accumulated together.
TILE_POSITIONS = 6
#: Logits per panel: 4 zmm on AVX-512, 2 ymm (one IR vector of :data:`LANES`) without it.
PANEL = (4 if WIDE_VECTORS else 1) * LANES


def panels(WyT: np.ndarray) -> np.ndarray:
    """``WyT`` (H, V) as (V // PANEL, H, PANEL) panels, read-only and cache-line aligned."""
    H, V = WyT.shape
    return aligned_copy(np.ascontiguousarray(WyT.reshape(H, V // PANEL, PANEL).transpose(1, 0, 2)))


def _vector_at(builder, ptr, index):
    return builder.bitcast(builder.gep(ptr, [index]), ir.VectorType(ir.FloatType(), LANES).as_pointer())


def _splat(builder, value):
    i32 = ir.IntType(32)
    zero = ir.Constant(ir.VectorType(ir.FloatType(), LANES), None)
    return builder.shuffle_vector(builder.insert_element(zero, value, ir.Constant(i32, 0)), zero,
                                  ir.Constant(ir.VectorType(i32, LANES), None))


@intrinsic
def tile_logits(typingctx, Wp, by, states, t0, count, out):
    """``out[p] = by + WyT.T @ states[t0 + min(p, count - 1)]`` for p < :data:`TILE_POSITIONS`
    (rows t0 .. t0 + count - 1 of ``states`` must exist, 1 <= count), ``Wp`` being :func:`panels`
    of ``WyT``; ``V = len(by)`` a multiple of :data:`PANEL`. float32, C-contiguous."""
    if not (_is_float32_c(Wp, 3) and _is_float32_c(by, 1) and _is_float32_c(states, 2)
            and _is_float32_c(out, 2) and isinstance(t0, types.Integer) and isinstance(count, types.Integer)):
        return None
    sig = types.void(Wp, by, states, t0, count, out)
    vectors = PANEL // LANES

    def codegen(context, builder, signature, args):
        Wp_a, by_a, states_a, _, _, out_a = (
            context.make_array(ty)(context, builder, arg) if isinstance(ty, types.Array) else None
            for ty, arg in zip(signature.args, args))
        first = context.cast(builder, args[3], signature.args[3], types.intp)
        last = builder.sub(builder.add(first, context.cast(builder, args[4], signature.args[4], types.intp)), _const(1))
        H = builder.extract_value(states_a.shape, 1)
        V = builder.extract_value(by_a.shape, 0)
        vec_t = ir.VectorType(ir.FloatType(), LANES)
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec_t, [vec_t] * 3),
                                             f"llvm.fma.v{LANES}f32")
        sums = [[cgutils.alloca_once(builder, vec_t) for _ in range(vectors)] for _ in range(TILE_POSITIONS)]
        state_rows = []
        for p in range(TILE_POSITIONS):
            row = builder.add(first, _const(p))
            state_rows.append(builder.mul(builder.select(builder.icmp_signed("<=", row, last), row, last), H))
        with cgutils.for_range(builder, builder.udiv(V, _const(PANEL))) as panel_loop:
            base = builder.mul(panel_loop.index, _const(PANEL))
            bias = [builder.load(_vector_at(builder, by_a.data, builder.add(base, _const(c * LANES))), align=4)
                    for c in range(vectors)]
            for row in sums:
                for c, slot in enumerate(row):
                    builder.store(bias[c], slot)
            panel_start = builder.mul(panel_loop.index, H)
            with cgutils.for_range(builder, H) as j_loop:
                j = j_loop.index
                start = builder.mul(builder.add(panel_start, j), _const(PANEL))
                w = [builder.load(_vector_at(builder, Wp_a.data, builder.add(start, _const(c * LANES))), align=4)
                     for c in range(vectors)]
                for p, row in enumerate(sums):
                    h = _splat(builder, builder.load(builder.gep(states_a.data, [builder.add(state_rows[p], j)])))
                    for c, slot in enumerate(row):
                        builder.store(builder.call(fma, [w[c], h, builder.load(slot)]), slot)
            for p, row in enumerate(sums):
                out_row = builder.add(builder.mul(_const(p), V), base)
                for c, slot in enumerate(row):
                    builder.store(builder.load(slot), _vector_at(builder, out_a.data, builder.add(out_row, _const(c * LANES))),
                                  align=4)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def max_and_first(typingctx, row):
    """``(max(row), first index of it)`` (float32, int32) of a float32 row whose length is a
    whole number (at least one) of :data:`LANES`: a running max per lane, then the lanes equal to
    it, vector by vector from the last (no branch to mispredict)."""
    if not _is_float32_c(row, 1):
        return None
    sig = types.Tuple((types.float32, types.int32))(row)

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        n = builder.extract_value(arr.shape, 0)
        vec_t = ir.VectorType(ir.FloatType(), LANES)
        i16, i32 = ir.IntType(16), ir.IntType(32)
        maxnum = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec_t, [vec_t] * 2),
                                                f"llvm.maxnum.v{LANES}f32")
        reduce_max = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.FloatType(), [vec_t]),
                                                    f"llvm.vector.reduce.fmax.v{LANES}f32")
        cttz = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i16, [i16, ir.IntType(1)]),
                                              "llvm.cttz.i16")
        count = builder.udiv(n, _const(LANES))
        running = cgutils.alloca_once_value(builder, builder.load(_vector_at(builder, arr.data, _const(0)), align=4))
        with cgutils.for_range(builder, count) as loop:
            v = builder.load(_vector_at(builder, arr.data, builder.mul(loop.index, _const(LANES))), align=4)
            builder.store(builder.call(maxnum, [builder.load(running), v]), running)
        best = builder.call(reduce_max, [builder.load(running)])
        best_vec = _splat(builder, best)
        first = cgutils.alloca_once_value(builder, builder.trunc(n, i32))
        with cgutils.for_range(builder, count) as loop:
            at = builder.mul(builder.sub(builder.sub(count, _const(1)), loop.index), _const(LANES))
            v = builder.load(_vector_at(builder, arr.data, at), align=4)
            hits = builder.bitcast(builder.fcmp_ordered("==", v, best_vec), i16)
            index = builder.add(builder.trunc(at, i32), builder.zext(builder.call(cttz, [hits, ir.Constant(ir.IntType(1), 1)]), i32))
            builder.store(builder.select(builder.icmp_unsigned("!=", hits, ir.Constant(i16, 0)), index,
                                         builder.load(first)), first)
        return context.make_tuple(builder, signature.return_type, [best, builder.load(first)])

    return sig, codegen
