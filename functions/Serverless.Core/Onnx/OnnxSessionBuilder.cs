using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Onnx.Native;
using Serverless.Core.Tensors;

namespace Serverless.Core.Onnx;

/// <summary>
/// Creates <see cref="OnnxSession"/>s: turns <see cref="SessionSettings"/> into ORT session options, loads the model
/// from a file or from bytes, reads its inputs and outputs once and keeps their names as native UTF-8 for every run.
/// </summary>
internal static unsafe class OnnxSessionBuilder
{
    public const string CpuProvider = "CPUExecutionProvider";
    public const string CudaProvider = "CUDAExecutionProvider";

    public static OnnxSession FromFile(string model, string path, SessionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(settings);
        if (!File.Exists(path))
        {
            throw new InferenceException(ErrorCode.NotFound,
                $"Model '{model}': the model file '{path}' does not exist. Check the model store path, or download the model again.")
            { Model = model };
        }

        using var options = CreateOptions(model, settings, out var provider, out var fallback);
        var nativePath = NativePath(path);
        OrtSession* session;
        fixed (byte* p = nativePath)
        {
            OrtErrors.ThrowIfError(OrtRuntime.Api->CreateSession(OrtRuntime.Env, p, options.Pointer, &session), $"loading '{path}'", model);
        }

        return Complete(model, session, provider, fallback);
    }

    public static OnnxSession FromBytes(string model, ReadOnlySpan<byte> bytes, SessionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (bytes.IsEmpty)
        {
            throw InferenceException.BadInput($"Model '{model}': the model bytes are empty. Pass the contents of an .onnx file.", model);
        }

        using var options = CreateOptions(model, settings, out var provider, out var fallback);
        OrtSession* session;
        fixed (byte* p = bytes)
        {
            OrtErrors.ThrowIfError(
                OrtRuntime.Api->CreateSessionFromArray(OrtRuntime.Env, p, (nuint)bytes.Length, options.Pointer, &session),
                $"loading the model from {bytes.Length} bytes", model);
        }

        return Complete(model, session, provider, fallback);
    }

    /// <summary>Lists the execution providers this ONNX Runtime build offers, e.g. CPUExecutionProvider.</summary>
    public static IReadOnlyList<string> AvailableProviders()
    {
        var api = OrtRuntime.Api;
        byte** names;
        int count;
        OrtErrors.ThrowIfError(api->GetAvailableProviders(&names, &count), "listing execution providers");
        try
        {
            var result = new string[count];
            for (var i = 0; i < count; i++)
            {
                result[i] = Marshal.PtrToStringUTF8((nint)names[i]) ?? string.Empty;
            }

            return result;
        }
        finally
        {
            var status = api->ReleaseAvailableProviders(names, count);
            if (status is not null)
            {
                api->ReleaseStatus(status);
            }
        }
    }

    private static OrtSessionOptionsHandle CreateOptions(string model, SessionSettings settings, out string provider, out string? fallbackReason)
    {
        var options = OrtSessionOptionsHandle.Create(model);
        try
        {
            Configure(options.Pointer, model, settings, out provider, out fallbackReason);
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    // The ORT calls sit outside any try region (and the method is not inlined into one): on x64 the JIT
    // cannot inline an unmanaged call there, and the stub it would need instead is something crossgen2
    // cannot precompile, so the whole method used to be JIT-compiled on the first request.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Configure(OrtSessionOptions* o, string model, SessionSettings settings, out string provider, out string? fallbackReason)
    {
        var api = OrtRuntime.Api;
        fixed (byte* logId = Utf8(model))
        {
            OrtErrors.ThrowIfError(api->SetSessionLogId(o, logId), "setting the log id", model);
        }

        OrtErrors.ThrowIfError(api->SetIntraOpNumThreads(o, settings.EffectiveIntraOpThreads), "setting intra-op threads", model);
        if (settings.InterOpThreads is > 0)
        {
            OrtErrors.ThrowIfError(api->SetInterOpNumThreads(o, settings.InterOpThreads.Value), "setting inter-op threads", model);
        }

        OrtErrors.ThrowIfError(api->SetSessionGraphOptimizationLevel(o, (int)settings.Optimization), "setting the optimization level", model);

        // Spinning keeps idle worker threads busy-waiting, which serverless platforms bill as CPU time.
        var spin = settings.AllowSpinning ? "1\0"u8 : "0\0"u8;
        fixed (byte* value = spin)
        fixed (byte* intra = "session.intra_op.allow_spinning\0"u8)
        fixed (byte* inter = "session.inter_op.allow_spinning\0"u8)
        {
            OrtErrors.ThrowIfError(api->AddSessionConfigEntry(o, intra, value), "configuring intra-op spinning", model);
            OrtErrors.ThrowIfError(api->AddSessionConfigEntry(o, inter, value), "configuring inter-op spinning", model);
        }

        OrtErrors.ThrowIfError(settings.EnableMemoryArena ? api->EnableCpuMemArena(o) : api->DisableCpuMemArena(o), "configuring the memory arena", model);

        if (!string.IsNullOrEmpty(settings.OptimizedModelPath))
        {
            fixed (byte* path = NativePath(settings.OptimizedModelPath))
            {
                OrtErrors.ThrowIfError(api->SetOptimizedModelFilePath(o, path), "setting the optimized model path", model);
            }

            // Saving a fully optimized graph makes ORT warn that it is hardware-specific; callers ask for it on
            // purpose (the optimized-graph cache keys it by CPU). ORT has no per-message filter, so a session that
            // saves its graph logs errors only: its other warnings are not shown (sessions that do not save, e.g. a
            // later load from the cached graph, log as before).
            OrtErrors.ThrowIfError(api->SetSessionLogSeverityLevel(o, 3), "setting the log severity", model);
        }

        provider = CpuProvider;
        fallbackReason = null;
        if (settings.PreferCuda)
        {
            fallbackReason = TryAppendCuda(o);
            provider = fallbackReason is null ? CudaProvider : CpuProvider;
        }
    }

    /// <summary>Adds the CUDA provider; returns null on success, else ORT's reason (the caller falls back to CPU).</summary>
    private static string? TryAppendCuda(OrtSessionOptions* options)
    {
        var api = OrtRuntime.Api;
        OrtCUDAProviderOptionsV2* cuda;
        var status = api->CreateCUDAProviderOptions(&cuda);
        if (status is not null)
        {
            return FallbackText(status);
        }

        try
        {
            status = api->SessionOptionsAppendExecutionProvider_CUDA_V2(options, cuda);
            return status is null ? null : FallbackText(status);
        }
        finally
        {
            api->ReleaseCUDAProviderOptions(cuda);
        }
    }

    private static string FallbackText(OrtStatus* status)
    {
        var message = OrtErrors.ReadAndRelease(status, out var code);
        return $"CUDA execution provider unavailable ({OrtErrors.Name(code)}): {message.Trim()}; running on {CpuProvider}.";
    }

    private static OnnxSession Complete(string model, OrtSession* session, string provider, string? fallbackReason)
    {
        var handle = new OrtSessionHandle(session);
        try
        {
            var inputs = ReadSpecs(handle.Pointer, model, isInput: true);
            var outputs = ReadSpecs(handle.Pointer, model, isInput: false);
            var block = BuildNameBlock(inputs, outputs);
            handle.AdoptNames(block);
            var inputNames = (byte**)block;
            var outputNames = inputNames + inputs.Length;
            return new OnnxSession(model, handle, inputs, outputs, inputNames, outputNames, provider, fallbackReason);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static TensorSpec[] ReadSpecs(OrtSession* session, string model, bool isInput)
    {
        var api = OrtRuntime.Api;
        var what = isInput ? "input" : "output";
        nuint count;
        OrtErrors.ThrowIfError(isInput ? api->SessionGetInputCount(session, &count) : api->SessionGetOutputCount(session, &count), $"counting {what}s", model);
        var specs = new TensorSpec[(int)count];
        for (nuint i = 0; i < count; i++)
        {
            byte* rawName;
            OrtErrors.ThrowIfError(
                isInput ? api->SessionGetInputName(session, i, OrtRuntime.Allocator, &rawName) : api->SessionGetOutputName(session, i, OrtRuntime.Allocator, &rawName),
                $"reading {what} names", model);
            string name;
            try
            {
                name = Marshal.PtrToStringUTF8((nint)rawName) ?? string.Empty;
            }
            finally
            {
                OrtRuntime.FreeAllocated(rawName);
            }

            OrtTypeInfo* rawInfo;
            OrtErrors.ThrowIfError(
                isInput ? api->SessionGetInputTypeInfo(session, i, &rawInfo) : api->SessionGetOutputTypeInfo(session, i, &rawInfo),
                $"reading the type of {what} '{name}'", model, name);
            using var info = new OrtTypeInfoHandle(rawInfo);
            specs[(int)i] = ReadSpec(info.Pointer, name, model);
        }

        return specs;
    }

    private static TensorSpec ReadSpec(OrtTypeInfo* info, string name, string model)
    {
        var api = OrtRuntime.Api;
        OnnxValueType kind;
        OrtErrors.ThrowIfError(api->GetOnnxTypeFromTypeInfo(info, &kind), "reading a value kind", model, name);
        if (kind != OnnxValueType.Tensor)
        {
            return new TensorSpec(name, TensorElementType.Undefined, []); // sequences and maps cannot be served
        }

        OrtTensorTypeAndShapeInfo* tensor; // owned by info, not released here
        OrtErrors.ThrowIfError(api->CastTypeInfoToTensorInfo(info, &tensor), "reading tensor info", model, name);
        TensorElementType type;
        OrtErrors.ThrowIfError(api->GetTensorElementType(tensor, &type), "reading an element type", model, name);
        nuint rank;
        OrtErrors.ThrowIfError(api->GetDimensionsCount(tensor, &rank), "reading a rank", model, name);
        var shape = new long[(int)rank];
        var symbols = new string?[(int)rank];
        if (rank > 0)
        {
            var rawSymbols = new nint[(int)rank];
            fixed (long* dims = shape)
            fixed (nint* syms = rawSymbols)
            {
                OrtErrors.ThrowIfError(api->GetDimensions(tensor, dims, rank), "reading a shape", model, name);
                OrtErrors.ThrowIfError(api->GetSymbolicDimensions(tensor, (byte**)syms, rank), "reading dimension names", model, name);
            }

            for (var d = 0; d < shape.Length; d++)
            {
                shape[d] = shape[d] < 0 ? -1 : shape[d];
                var symbol = rawSymbols[d] == 0 ? null : Marshal.PtrToStringUTF8(rawSymbols[d]);
                symbols[d] = string.IsNullOrEmpty(symbol) ? null : symbol;
            }
        }

        return new TensorSpec(name, type, shape, symbols);
    }

    /// <summary>One native block: input name pointers, output name pointers, then the NUL-terminated UTF-8 names.</summary>
    private static void* BuildNameBlock(TensorSpec[] inputs, TensorSpec[] outputs)
    {
        var pointerBytes = (inputs.Length + outputs.Length) * sizeof(nint);
        var textBytes = 0;
        foreach (var spec in inputs.Concat(outputs))
        {
            textBytes += Encoding.UTF8.GetByteCount(spec.Name) + 1;
        }

        var block = (byte*)NativeMemory.Alloc((nuint)(pointerBytes + textBytes));
        var pointers = (byte**)block;
        var text = block + pointerBytes;
        var index = 0;
        foreach (var spec in inputs.Concat(outputs))
        {
            pointers[index++] = text;
            var written = Encoding.UTF8.GetBytes(spec.Name, new Span<byte>(text, textBytes));
            text[written] = 0;
            text += written + 1;
            textBytes -= written + 1;
        }

        return block;
    }

    /// <summary>ORTCHAR_T is wchar_t on Windows and UTF-8 char elsewhere.</summary>
    private static byte[] NativePath(string path) =>
        OperatingSystem.IsWindows() ? Encoding.Unicode.GetBytes(path + "\0") : Utf8(path);

    private static byte[] Utf8(string value) => Encoding.UTF8.GetBytes(value + "\0");
}
