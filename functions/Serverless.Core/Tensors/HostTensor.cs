using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Serverless.Core.Errors;

namespace Serverless.Core.Tensors;

/// <summary>
/// A tensor whose memory we own: a pinned, pooled buffer that ONNX Runtime reads in place (no copy).
/// Codecs fill it straight from request bytes; the binding wraps <see cref="DataPointer"/> in an OrtValue.
/// An instance can be re-initialized and reused; <see cref="Dispose"/> returns its buffers to the pool.
/// For <see cref="TensorElementType.String"/> (protocol BYTES) the buffer holds the elements back to back
/// and an offsets table marks where each starts.
/// </summary>
public sealed class HostTensor : ITensorData, IOutputTensor
{
    private readonly PinnedBufferPool _pool;
    private long[] _shape = new long[8];
    private int _rank;
    private byte[]? _data;
    private int _byteLength;
    private int[]? _offsets; // String only: _offsets[i] is where element i starts; _offsets[count] == _byteLength
    private int _stringCount;

    public HostTensor(PinnedBufferPool? pool = null)
    {
        _pool = pool ?? PinnedBufferPool.Shared;
    }

    public string Name { get; private set; } = string.Empty;

    public TensorElementType ElementType { get; private set; }

    public ReadOnlySpan<long> Shape => _shape.AsSpan(0, _rank);

    public long ElementCount { get; private set; }

    /// <summary>Number of bytes of element data (for strings, the total of all elements).</summary>
    public int ByteLength => _byteLength;

    /// <summary>The element bytes, writable so codecs can fill them in place. Valid until disposal or re-initialization.</summary>
    public Span<byte> Data => _data is null ? Span<byte>.Empty : _data.AsSpan(0, _byteLength);

    ReadOnlySpan<byte> ITensorData.Bytes => Data;

    /// <summary>
    /// Address of the first element. The buffer lives on the pinned object heap, so the address stays valid
    /// until this tensor is disposed or re-initialized.
    /// </summary>
    public unsafe nint DataPointer =>
        _data is null ? 0 : (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_data));

    /// <summary>The elements as a typed span (fixed-size types only).</summary>
    public Span<T> GetSpan<T>() where T : unmanaged => MemoryMarshal.Cast<byte, T>(Data);

    /// <summary>
    /// Sets name, type and shape and makes room for the elements of a fixed-size type. Throws
    /// <see cref="ErrorCode.PayloadTooLarge"/> when the element count exceeds <paramref name="maxElements"/>,
    /// and <see cref="ErrorCode.InvalidInput"/> for negative dimensions.
    /// </summary>
    public void Initialize(string name, TensorElementType elementType, ReadOnlySpan<long> shape, long maxElements = int.MaxValue)
    {
        var count = CheckedElementCount(name, shape, maxElements);
        SetHeader(name, elementType, shape, count);
        if (elementType == TensorElementType.String)
        {
            BeginStrings(count);
            return;
        }

        var size = elementType.SizeInBytes();
        if (size == 0)
        {
            throw InferenceException.BadInput($"Tensor '{name}': element type {elementType} is not supported.", tensor: name);
        }

        var bytes = count * size;
        if (bytes > Array.MaxLength)
        {
            throw InferenceException.TooLarge($"Tensor '{name}' would need {bytes} bytes, more than one buffer can hold.", tensor: name);
        }

        EnsureData((int)bytes);
        _byteLength = (int)bytes;
    }

    /// <summary>Appends one element of a String tensor that was initialized with <see cref="Initialize"/>.</summary>
    public void AppendString(ReadOnlySpan<byte> value)
    {
        if (ElementType != TensorElementType.String || _offsets is null)
        {
            throw new InvalidOperationException("AppendString needs a String tensor.");
        }

        if (_stringCount >= ElementCount)
        {
            throw InferenceException.BadInput($"Tensor '{Name}': more elements than its shape holds ({ElementCount}).", tensor: Name);
        }

        var needed = (long)_byteLength + value.Length;
        if (needed > Array.MaxLength)
        {
            throw InferenceException.TooLarge($"Tensor '{Name}': string data exceeds {Array.MaxLength} bytes.", tensor: Name);
        }

        EnsureData((int)needed, preserve: true);
        value.CopyTo(_data.AsSpan(_byteLength));
        _byteLength = (int)needed;
        _stringCount++;
        _offsets[_stringCount] = _byteLength;
    }

    /// <summary>Number of string elements appended so far.</summary>
    public int StringCount => _stringCount;

    public ReadOnlySpan<byte> GetStringBytes(long index)
    {
        if (ElementType != TensorElementType.String || _offsets is null)
        {
            throw new InvalidOperationException($"Tensor '{Name}' is {ElementType}, not String.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _stringCount);
        var start = _offsets[index];
        return _data.AsSpan(start, _offsets[index + 1] - start);
    }

    /// <summary>Returns the buffers to the pool. The instance may be initialized again afterwards.</summary>
    public void Dispose()
    {
        if (_data is not null)
        {
            _pool.Return(_data);
            _data = null;
        }

        if (_offsets is not null)
        {
            System.Buffers.ArrayPool<int>.Shared.Return(_offsets);
            _offsets = null;
        }

        _byteLength = 0;
        _stringCount = 0;
        _rank = 0;
        ElementCount = 0;
    }

    /// <summary>Multiplies the dimensions with overflow and limit checks; every dimension must be non-negative.</summary>
    public static long CheckedElementCount(string name, ReadOnlySpan<long> shape, long maxElements)
    {
        long count = 1;
        for (var i = 0; i < shape.Length; i++)
        {
            var d = shape[i];
            if (d < 0)
            {
                throw InferenceException.BadInput($"Tensor '{name}': dimension {i} is {d}; shape dimensions must be 0 or more.", tensor: name);
            }

            if (d != 0 && count > maxElements / d)
            {
                throw InferenceException.TooLarge($"Tensor '{name}': shape has more than the limit of {maxElements} elements.", tensor: name);
            }

            count *= d;
        }

        if (count > maxElements)
        {
            throw InferenceException.TooLarge($"Tensor '{name}': {count} elements exceed the limit of {maxElements}.", tensor: name);
        }

        return count;
    }

    private void SetHeader(string name, TensorElementType elementType, ReadOnlySpan<long> shape, long count)
    {
        Name = name;
        ElementType = elementType;
        if (_shape.Length < shape.Length)
        {
            _shape = new long[shape.Length];
        }

        shape.CopyTo(_shape);
        _rank = shape.Length;
        ElementCount = count;
        _byteLength = 0;
        _stringCount = 0;
    }

    private void BeginStrings(long count)
    {
        if (count + 1 > Array.MaxLength)
        {
            throw InferenceException.TooLarge($"Tensor '{Name}': too many string elements ({count}).", tensor: Name);
        }

        if (_offsets is null || _offsets.Length < count + 1)
        {
            if (_offsets is not null)
            {
                System.Buffers.ArrayPool<int>.Shared.Return(_offsets);
            }

            _offsets = System.Buffers.ArrayPool<int>.Shared.Rent((int)count + 1);
        }

        _offsets[0] = 0;
        EnsureData(64);
    }

    private void EnsureData(int bytes, bool preserve = false)
    {
        if (_data is not null && _data.Length >= bytes)
        {
            return;
        }

        var grown = _pool.Rent(preserve && _data is not null ? Math.Max(bytes, (int)Math.Min(Array.MaxLength, _data.Length * 2L)) : bytes);
        if (_data is not null)
        {
            if (preserve)
            {
                _data.AsSpan(0, _byteLength).CopyTo(grown);
            }

            _pool.Return(_data);
        }

        _data = grown;
    }
}
