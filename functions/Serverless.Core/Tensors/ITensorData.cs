namespace Serverless.Core.Tensors;

/// <summary>
/// A read-only view of one tensor's contents, whoever owns the memory (a pooled <see cref="HostTensor"/>
/// or a tensor that ONNX Runtime allocated). Spans it returns stay valid until the owner is disposed.
/// </summary>
public interface ITensorData
{
    string Name { get; }

    TensorElementType ElementType { get; }

    ReadOnlySpan<long> Shape { get; }

    long ElementCount { get; }

    /// <summary>The elements as little-endian bytes, for every type except <see cref="TensorElementType.String"/>.</summary>
    ReadOnlySpan<byte> Bytes { get; }

    /// <summary>For <see cref="TensorElementType.String"/> tensors: the UTF-8 (or arbitrary) bytes of element <paramref name="index"/>.</summary>
    ReadOnlySpan<byte> GetStringBytes(long index);
}

/// <summary>An output tensor handed to the caller of a run; the caller disposes it, which frees native memory.</summary>
public interface IOutputTensor : ITensorData, IDisposable
{
}
