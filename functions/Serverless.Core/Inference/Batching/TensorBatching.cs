using Serverless.Core.Batch;
using Serverless.Core.Tensors;

namespace Serverless.Core.Inference.Batching;

/// <summary>
/// The rules for joining requests along dimension 0 and cutting the results back, shared by the batch
/// scorer's line runner and the <see cref="DynamicBatcher"/> so both join exactly the same way: every input
/// contributes the same positive number of rows, joinable tensors agree on element type and on every
/// dimension after the first, and an output splits only when its first dimension is the total row count.
/// </summary>
internal static class TensorBatching
{
    /// <summary>Rows the inputs contribute along dimension 0, or -1 when they cannot be joined with others.</summary>
    public static long Rows(ReadOnlySpan<HostTensor> inputs)
    {
        long rows = -1;
        foreach (var input in inputs)
        {
            if (input is null || input.Shape.Length == 0 || input.ElementType == TensorElementType.String)
            {
                return -1;
            }

            if (rows >= 0 && input.Shape[0] != rows)
            {
                return -1;
            }

            rows = input.Shape[0];
        }

        return rows is > 0 ? rows : -1;
    }

    /// <summary>True when <paramref name="a"/> and <paramref name="b"/> can share one joined tensor.</summary>
    public static bool Joinable(HostTensor a, HostTensor b) =>
        a.ElementType == b.ElementType && a.Shape.Length == b.Shape.Length && a.Shape[1..].SequenceEqual(b.Shape[1..]);

    /// <summary>Shapes <paramref name="destination"/> like <paramref name="template"/> with <paramref name="totalRows"/> rows.</summary>
    public static void InitializeJoined(HostTensor destination, HostTensor template, long totalRows)
    {
        var rank = template.Shape.Length;
        Span<long> dims = rank <= 16 ? stackalloc long[rank] : new long[rank];
        template.Shape.CopyTo(dims);
        dims[0] = totalRows;
        destination.Initialize(template.Name, template.ElementType, dims, long.MaxValue);
    }

    /// <summary>Copies <paramref name="part"/>'s rows into <paramref name="destination"/> at byte <paramref name="offset"/>; returns the next offset.</summary>
    public static int AppendRows(HostTensor destination, HostTensor part, int offset)
    {
        var data = part.Data;
        data.CopyTo(destination.Data[offset..]);
        return offset + data.Length;
    }

    /// <summary>True when <paramref name="output"/> of a joined run can be cut into per-request rows.</summary>
    public static bool SplitsByRows(ITensorData? output, long totalRows) =>
        output is not null && output.ElementType != TensorElementType.String && output.Shape.Length > 0 &&
        output.Shape[0] == totalRows && output.Bytes.Length % totalRows == 0;

    /// <summary>A tensor the caller owns holding rows [firstRow, firstRow+rows) of <paramref name="output"/>.</summary>
    public static HostTensor CopyRows(ITensorData output, long firstRow, long rows, TensorSlice slice)
    {
        slice.Set(output, firstRow, rows);
        var copy = new HostTensor();
        copy.Initialize(output.Name, output.ElementType, slice.Shape, long.MaxValue);
        slice.Bytes.CopyTo(copy.Data);
        return copy;
    }
}
