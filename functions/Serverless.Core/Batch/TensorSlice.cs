using Serverless.Core.Tensors;

namespace Serverless.Core.Batch;

/// <summary>
/// Rows [start, start+count) of a batched output tensor, viewed in place so each line's response is written
/// straight from the batch result. Valid while the batched output is alive; disposing the slice does nothing.
/// </summary>
internal sealed class TensorSlice : IOutputTensor
{
    private readonly long[] _shape;
    private ITensorData _source = null!;
    private int _byteStart;
    private int _byteLength;

    public TensorSlice(int rank)
    {
        _shape = new long[rank];
    }

    public string Name => _source.Name;

    public TensorElementType ElementType => _source.ElementType;

    public ReadOnlySpan<long> Shape => _shape;

    public long ElementCount { get; private set; }

    public ReadOnlySpan<byte> Bytes => _source.Bytes.Slice(_byteStart, _byteLength);

    /// <summary>Points the slice at <paramref name="rows"/> rows of <paramref name="source"/> starting at <paramref name="firstRow"/>.</summary>
    public void Set(ITensorData source, long firstRow, long rows)
    {
        _source = source;
        var shape = source.Shape;
        var total = shape[0];
        var rowBytes = total == 0 ? 0 : source.Bytes.Length / total;
        _byteStart = checked((int)(firstRow * rowBytes));
        _byteLength = checked((int)(rows * rowBytes));
        shape.CopyTo(_shape);
        _shape[0] = rows;
        ElementCount = total == 0 ? 0 : source.ElementCount / total * rows;
    }

    public ReadOnlySpan<byte> GetStringBytes(long index) =>
        throw new NotSupportedException("String outputs are not split by batch scoring; such lines run one by one.");

    public void Dispose()
    {
    }
}
