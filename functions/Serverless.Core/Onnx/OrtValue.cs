using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Serverless.Core.Errors;
using Serverless.Core.Tensors;
using NativeValue = Serverless.Core.Onnx.Native.OrtValue;

namespace Serverless.Core.Onnx;

/// <summary>
/// One ONNX Runtime tensor (a native OrtValue), owned by this sealed SafeHandle. It is either a view over memory
/// someone else owns (a <see cref="HostTensor"/>'s pinned buffer, pinned <see cref="Memory{T}"/> whose pin this object
/// holds, or a caller's pinned pointer; no copy is made) or a tensor ORT allocated as a run's output. As an
/// <see cref="IOutputTensor"/>, <see cref="Bytes"/> is a span over the tensor's memory that stays valid until this
/// object is disposed. Create values once and reuse them with
/// <see cref="OnnxSession.Run(ReadOnlySpan{OrtValue}, ReadOnlySpan{OrtValue}, CancellationToken)"/> for runs that
/// allocate nothing.
/// </summary>
public sealed unsafe class OrtValue : SafeHandle, IOutputTensor
{
    private readonly long[] _shape;
    private readonly nint _data;
    private MemoryHandle _pin;
    private byte[]? _strings;
    private nuint[]? _stringOffsets;

    private OrtValue(NativeValue* value, string name, TensorElementType elementType, long[] shape, long elementCount, nint data, MemoryHandle pin)
        : base(0, ownsHandle: true)
    {
        SetHandle((nint)value);
        Name = name;
        ElementType = elementType;
        _shape = shape;
        ElementCount = elementCount;
        _data = data;
        _pin = pin;
    }

    public override bool IsInvalid => handle == 0;

    public string Name { get; }

    public TensorElementType ElementType { get; }

    public ReadOnlySpan<long> Shape => _shape;

    public long ElementCount { get; }

    /// <summary>Address of the first element (0 for strings and empty tensors). Valid until disposal.</summary>
    public nint DataPointer => _data;

    /// <summary>The elements' bytes (empty for strings). A view over native or pinned memory, valid until disposal.</summary>
    public ReadOnlySpan<byte> Bytes => MutableBytes;

    internal NativeValue* Pointer => (NativeValue*)handle;

    private Span<byte> MutableBytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return _data == 0 ? Span<byte>.Empty : new Span<byte>((void*)_data, checked((int)(ElementCount * ElementType.SizeInBytes())));
        }
    }

    /// <summary>The elements as a writable typed span, e.g. to fill a reused input in place. Valid until disposal.</summary>
    public Span<T> GetSpan<T>() where T : unmanaged
    {
        if (ElementTypeOf<T>() != ElementType)
        {
            throw new InvalidOperationException($"Tensor '{Name}' holds {ElementType}, not {typeof(T).Name}.");
        }

        return MemoryMarshal.Cast<byte, T>(MutableBytes);
    }

    /// <summary>Wraps the pinned buffer of a <see cref="HostTensor"/> without copying (strings are copied into ORT).</summary>
    /// <remarks>The tensor must stay initialized, and not be disposed, while this value is in use.</remarks>
    public static OrtValue CreateTensor(HostTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return FromHostTensor(tensor, model: null);
    }

    /// <summary>Wraps managed memory without copying; the memory is pinned until this value is disposed.</summary>
    public static OrtValue CreateTensor<T>(Memory<T> memory, ReadOnlySpan<long> shape, string name = "") where T : unmanaged
    {
        var type = ElementTypeOf<T>();
        var count = HostTensor.CheckedElementCount(name, shape, int.MaxValue);
        if (memory.Length < count)
        {
            throw new ArgumentException($"Tensor '{name}': shape [{string.Join(",", shape.ToArray())}] needs {count} elements, the memory holds {memory.Length}.", nameof(memory));
        }

        var pin = memory.Pin();
        try
        {
            return Wrap(type, (nint)pin.Pointer, count * sizeof(T), shape, count, name, pin, model: null);
        }
        catch
        {
            pin.Dispose();
            throw;
        }
    }

    /// <summary>Wraps memory the caller keeps pinned and alive for as long as this value is used.</summary>
    public static OrtValue CreateTensor(TensorElementType elementType, nint data, long byteLength, ReadOnlySpan<long> shape, string name = "")
    {
        var size = elementType.SizeInBytes();
        if (size == 0 || elementType == TensorElementType.String)
        {
            throw new ArgumentException($"Tensor '{name}': {elementType} cannot wrap raw memory; use a HostTensor for strings.", nameof(elementType));
        }

        var count = HostTensor.CheckedElementCount(name, shape, long.MaxValue / size);
        if (byteLength < count * size)
        {
            throw new ArgumentException($"Tensor '{name}': shape needs {count * size} bytes, the buffer holds {byteLength}.", nameof(byteLength));
        }

        return Wrap(elementType, data, count * size, shape, count, name, default, model: null);
    }

    /// <summary>The ONNX element type of a .NET element type.</summary>
    public static TensorElementType ElementTypeOf<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) { return TensorElementType.Float; }
        if (typeof(T) == typeof(double)) { return TensorElementType.Double; }
        if (typeof(T) == typeof(Half)) { return TensorElementType.Float16; }
        if (typeof(T) == typeof(sbyte)) { return TensorElementType.Int8; }
        if (typeof(T) == typeof(byte)) { return TensorElementType.UInt8; }
        if (typeof(T) == typeof(short)) { return TensorElementType.Int16; }
        if (typeof(T) == typeof(ushort)) { return TensorElementType.UInt16; }
        if (typeof(T) == typeof(int)) { return TensorElementType.Int32; }
        if (typeof(T) == typeof(uint)) { return TensorElementType.UInt32; }
        if (typeof(T) == typeof(long)) { return TensorElementType.Int64; }
        if (typeof(T) == typeof(ulong)) { return TensorElementType.UInt64; }
        if (typeof(T) == typeof(bool)) { return TensorElementType.Bool; }
        throw new NotSupportedException($"{typeof(T).Name} has no ONNX tensor element type.");
    }

    /// <summary>The bytes of string element <paramref name="index"/>, copied out of ORT once on first use.</summary>
    public ReadOnlySpan<byte> GetStringBytes(long index)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        if (ElementType != TensorElementType.String)
        {
            throw new InvalidOperationException($"Tensor '{Name}' is {ElementType}, not String.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, ElementCount);
        if (_strings is null)
        {
            LoadStrings();
        }

        var start = (int)_stringOffsets![index];
        var end = index + 1 < ElementCount ? (int)_stringOffsets[index + 1] : _strings!.Length;
        return _strings.AsSpan(start, end - start);
    }

    internal static OrtValue FromHostTensor(HostTensor tensor, string? model)
    {
        if (tensor.ElementType == TensorElementType.String)
        {
            return FromStrings(tensor, model);
        }

        var length = tensor.ByteLength;
        return Wrap(tensor.ElementType, tensor.DataPointer, length, tensor.Shape, tensor.ElementCount, tensor.Name, default, model);
    }

    /// <summary>Takes ownership of a tensor ORT allocated (a run's output) and reads its type and shape.</summary>
    internal static OrtValue FromRunOutput(NativeValue* value, string name, string model)
    {
        try
        {
            return Describe(value, name, model);
        }
        catch
        {
            Release(value);
            throw;
        }
    }

    /// <summary>Releases an ORT value nobody owns yet (for catch blocks: see <see cref="Describe"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void Release(NativeValue* value) => OrtRuntime.Api->ReleaseValue(value);

    // The ORT calls of FromRunOutput, outside any try region and not inlined into one: on x64 the JIT cannot
    // inline an unmanaged call inside a try or catch, and the stub it needs instead is something crossgen2
    // cannot precompile, so a method with such a call is JIT-compiled at first use (here: every first request).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static OrtValue Describe(NativeValue* value, string name, string model)
    {
        var api = OrtRuntime.Api;
        Native.OrtTensorTypeAndShapeInfo* rawInfo;
        OrtErrors.ThrowIfError(api->GetTensorTypeAndShape(value, &rawInfo), "reading an output's shape", model, name);
        TensorElementType type;
        long[] shape;
        using (var info = new OrtTensorShapeInfoHandle(rawInfo))
        {
            shape = ReadTypeAndShape(info.Pointer, name, model, out type);
        }

        long count = 1;
        foreach (var d in shape)
        {
            count *= d;
        }

        void* data = null;
        if (type != TensorElementType.String && count > 0)
        {
            OrtErrors.ThrowIfError(api->GetTensorMutableData(value, &data), "reading an output's data", model, name);
        }

        return new OrtValue(value, name, type, shape, count, (nint)data, default);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long[] ReadTypeAndShape(Native.OrtTensorTypeAndShapeInfo* info, string name, string model, out TensorElementType type)
    {
        var api = OrtRuntime.Api;
        TensorElementType elementType;
        OrtErrors.ThrowIfError(api->GetTensorElementType(info, &elementType), "reading an output's type", model, name);
        nuint rank;
        OrtErrors.ThrowIfError(api->GetDimensionsCount(info, &rank), "reading an output's rank", model, name);
        var shape = new long[(int)rank];
        fixed (long* dims = shape)
        {
            OrtErrors.ThrowIfError(api->GetDimensions(info, dims, rank), "reading an output's shape", model, name);
        }

        type = elementType;
        return shape;
    }

    protected override bool ReleaseHandle()
    {
        OrtRuntime.Api->ReleaseValue((NativeValue*)handle);
        _pin.Dispose();
        _pin = default;
        return true;
    }

    private static OrtValue Wrap(TensorElementType type, nint data, long byteLength, ReadOnlySpan<long> shape, long count, string name, MemoryHandle pin, string? model)
    {
        var api = OrtRuntime.Api;
        long placeholder = 0;
        var pointer = data != 0 ? (void*)data : &placeholder; // empty tensors: ORT wants a non-null address it never reads
        NativeValue* value;
        fixed (long* dims = shape)
        {
            OrtErrors.ThrowIfError(
                api->CreateTensorWithDataAsOrtValue(OrtRuntime.CpuMemoryInfo, pointer, (nuint)byteLength, dims, (nuint)shape.Length, type, &value),
                "wrapping an input buffer", model, name);
        }

        return new OrtValue(value, name, type, shape.ToArray(), count, data, pin);
    }

    private static OrtValue FromStrings(HostTensor tensor, string? model)
    {
        var name = tensor.Name;
        if (tensor.StringCount != tensor.ElementCount)
        {
            throw InferenceException.BadInput(
                $"{Subject(model, name)}shape [{string.Join(",", tensor.Shape.ToArray())}] holds {tensor.ElementCount} strings but {tensor.StringCount} were given.", model, name);
        }

        var api = OrtRuntime.Api;
        NativeValue* value;
        fixed (long* dims = tensor.Shape)
        {
            OrtErrors.ThrowIfError(
                api->CreateTensorAsOrtValue(OrtRuntime.Allocator, dims, (nuint)tensor.Shape.Length, TensorElementType.String, &value),
                "creating a string tensor", model, name);
        }

        var result = new OrtValue(value, name, TensorElementType.String, tensor.Shape.ToArray(), tensor.ElementCount, 0, default);
        byte[]? buffer = null;
        try
        {
            for (long i = 0; i < tensor.ElementCount; i++)
            {
                var element = tensor.GetStringBytes(i);
                if (element.Contains((byte)0))
                {
                    throw InferenceException.BadInput(
                        $"{Subject(model, name)}BYTES element {i} contains a zero byte, which ONNX Runtime's string tensors cannot hold. Send text without NUL bytes, or encode binary data (e.g. base64).", model, name);
                }

                if (buffer is null || buffer.Length < element.Length + 1)
                {
                    if (buffer is not null)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }

                    buffer = ArrayPool<byte>.Shared.Rent(element.Length + 1);
                }

                element.CopyTo(buffer);
                buffer[element.Length] = 0;
                fixed (byte* s = buffer)
                {
                    OrtErrors.ThrowIfError(api->FillStringTensorElement(result.Pointer, s, (nuint)i), "filling a string tensor", model, name);
                }
            }

            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private void LoadStrings()
    {
        var api = OrtRuntime.Api;
        var added = false;
        try
        {
            DangerousAddRef(ref added);
            nuint total;
            OrtErrors.ThrowIfError(api->GetStringTensorDataLength(Pointer, &total), "reading string lengths", tensor: Name);
            var bytes = new byte[(int)total];
            var offsets = new nuint[ElementCount];
            byte placeholder = 0;
            fixed (byte* s = bytes)
            fixed (nuint* o = offsets)
            {
                // All-empty strings have no content bytes; ORT still wants a non-null destination.
                var destination = s is null ? &placeholder : s;
                OrtErrors.ThrowIfError(api->GetStringTensorContent(Pointer, destination, total, o, (nuint)offsets.Length), "reading strings", tensor: Name);
            }

            _stringOffsets = offsets;
            _strings = bytes;
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    private static string Subject(string? model, string name) => model is null ? $"Tensor '{name}': " : $"Model '{model}', input '{name}': ";
}
