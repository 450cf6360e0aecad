"""``acc += W^T v`` for a C-contiguous float32 ``W``, with the accumulators held in registers.

The recurrence's ``Wh @ h`` is a sum of the rows of ``WhT`` scaled by ``h[j]``. Written as numba
loops over ``acc`` (:func:`~factormap.engine.kernels.recurrence.add_rows_times`), LLVM keeps
``acc`` in memory (it cannot prove that ``acc`` and ``W`` do not overlap), so every pass loads and
stores it and the rows of one pass become one chain of dependent FMAs. Here the product is
emitted as LLVM IR: the columns are taken :data:`BLOCK` at a time, the block's accumulators are
SSA values (``BLOCK / 16`` vectors of 16 floats), and each row j adds ``W[j, block] * v[j]`` as
fused multiply-adds, each unit's sum one chain of FMAs in row order. A block has as many
accumulators as cover the FMA latency: two FMA units of 4-cycle latency keep 8 chains busy, so
AVX-512 code (32 zmm registers) takes 8 zmm at a time, 128 columns (:data:`BLOCK`; with 4, the
product of a 32 KB ``W`` in L1 ran at 0.55 of the 1-thread GEMM floor on Zen 5 against 0.79 with
8), and AVX2 code (16 ymm) 8 ymm, 64 columns, what fits beside the loads. Columns past the last
whole block are taken :data:`NARROW_BLOCK` at a time, then one row at a time.

``descending`` visits the blocks and, in each block, the rows in the reverse order. At H = 128
``WhT`` is 64 KB and L1 holds 32 KB (48 KB on Zen 5), so a pass in one fixed order streams all of it from L2 at every
step: on Zen 4 this product runs at 0.53-0.55 of the 1-thread GEMM floor from a 64 KB ``W`` against
0.66-0.77 from a 16 or 32 KB one (``bench/matvec_bound.py``; AVX2 code 0.46-0.48 against
0.62-0.76). A recurrence that alternates the order at every step starts each step on the rows it
used last, still in L1 (0.63-0.67, AVX2 code 0.58-0.67: the L1 rate for half of ``W`` plus the L2
rate for the other half). The order is the order of each column's sum, so the two orders round
differently (one rounding per row, ``fma``, either way).
"""

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from factormap.engine.kernels.fastmath import VECTOR_FLAGS
from factormap.engine.kernels.vector_width import WIDE_VECTORS

#: float32 lanes of the IR vectors (one zmm; LLVM splits them in two ymm on AVX2).
LANES = 16
#: Columns of the blocks taken after the whole :data:`BLOCK` s: 4 vectors (8 ymm on AVX2).
NARROW_BLOCK = 4 * LANES
#: Columns accumulated together: 8 zmm with 512-bit vectors, else :data:`NARROW_BLOCK`.
BLOCK = 2 * NARROW_BLOCK if WIDE_VECTORS else NARROW_BLOCK


def _is_float32_c(ty, ndim: int) -> bool:
    return isinstance(ty, types.Array) and ty.dtype == types.float32 and ty.ndim == ndim and ty.layout == "C"


def _const(value: int) -> ir.Constant:
    return ir.Constant(ir.IntType(64), value)


def _block_sums(width: int):
    """An intrinsic ``(acc, W, v, first, descending) -> stop``: ``acc[i] += sum_j W[j, i] * v[j]``
    for the columns i in whole blocks of ``width`` from column ``first`` (the blocks in reverse
    order with ``descending``, and in each block the rows in order or in reverse), returning the
    column after the last block. All three arrays float32 and C-contiguous."""

    @intrinsic
    def block_sums(typingctx, acc, W, v, first, descending):
        if not (_is_float32_c(acc, 1) and _is_float32_c(W, 2) and _is_float32_c(v, 1)):
            return None
        sig = types.intp(acc, W, v, types.intp, types.boolean)

        def codegen(context, builder, signature, args):
            acc_t, W_t, v_t, _, _ = signature.args
            acc_ptr = context.make_array(acc_t)(context, builder, args[0]).data
            W_arr = context.make_array(W_t)(context, builder, args[1])
            v_ptr = context.make_array(v_t)(context, builder, args[2]).data
            first_col, reverse = args[3], args[4]
            rows = builder.extract_value(W_arr.shape, 0)
            cols = builder.extract_value(W_arr.shape, 1)
            vec_t = ir.VectorType(ir.FloatType(), LANES)
            vec_ptr_t = vec_t.as_pointer()
            fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec_t, [vec_t] * 3),
                                                 f"llvm.fma.v{LANES}f32")
            slots = [cgutils.alloca_once(builder, vec_t) for _ in range(width // LANES)]
            zero_vec = ir.Constant(vec_t, None)
            blocks = builder.udiv(builder.sub(cols, first_col), _const(width))

            def in_order(loop, count):
                return builder.select(reverse, builder.sub(builder.sub(count, _const(1)), loop.index), loop.index)

            def vector_at(ptr, index):
                return builder.bitcast(builder.gep(ptr, [index]), vec_ptr_t)

            with cgutils.for_range(builder, blocks) as block_loop:
                base = builder.add(first_col, builder.mul(in_order(block_loop, blocks), _const(width)))
                for k, slot in enumerate(slots):
                    builder.store(builder.load(vector_at(acc_ptr, builder.add(base, _const(k * LANES))), align=4), slot)
                with cgutils.for_range(builder, rows) as row_loop:
                    j = in_order(row_loop, rows)
                    vj = builder.load(builder.gep(v_ptr, [j]))
                    splat = builder.shuffle_vector(builder.insert_element(zero_vec, vj, ir.Constant(ir.IntType(32), 0)),
                                                   zero_vec, ir.Constant(ir.VectorType(ir.IntType(32), LANES), None))
                    row_start = builder.add(builder.mul(j, cols), base)
                    for k, slot in enumerate(slots):
                        w = builder.load(vector_at(W_arr.data, builder.add(row_start, _const(k * LANES))), align=4)
                        builder.store(builder.call(fma, [w, splat, builder.load(slot)]), slot)
                for k, slot in enumerate(slots):
                    builder.store(builder.load(slot), vector_at(acc_ptr, builder.add(base, _const(k * LANES))), align=4)
            return builder.add(first_col, builder.mul(blocks, _const(width)))

        return sig, codegen

    return block_sums


add_block_sums = _block_sums(BLOCK)
add_narrow_block_sums = _block_sums(NARROW_BLOCK)


@njit(inline="always", **VECTOR_FLAGS)
def add_matvec(acc, W, v, descending=False):
    """``acc += W^T v`` (float32, C-contiguous; inlined): whole blocks in registers, in the order
    ``descending`` says, then the remaining columns one row at a time."""
    done = add_narrow_block_sums(acc, W, v, add_block_sums(acc, W, v, 0, descending), descending)
    for j in range(v.shape[0]):
        vj = v[j]
        row = W[j]
        for i in range(done, acc.shape[0]):
            acc[i] += row[i] * vj
