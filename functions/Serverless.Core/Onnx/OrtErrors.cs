using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Serverless.Core.Errors;
using Serverless.Core.Onnx.Native;

namespace Serverless.Core.Onnx;

/// <summary>
/// Turns an <c>OrtStatus*</c> into an <see cref="InferenceException"/>. A status is owned by whoever receives it,
/// so it is released in <c>finally</c> whatever happens while we read it.
/// </summary>
internal static unsafe class OrtErrors
{
    /// <summary>Throws when <paramref name="status"/> is not null (ORT's success value), releasing it either way.</summary>
    /// <param name="status">What an OrtApi function returned.</param>
    /// <param name="operation">What we were doing, e.g. "creating the session", for the message.</param>
    /// <param name="model">The model concerned, when known.</param>
    /// <param name="tensor">The tensor concerned, when known.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ThrowIfError(OrtStatus* status, string operation, string? model = null, string? tensor = null)
    {
        if (status is not null)
        {
            Throw(OrtRuntime.Api, status, operation, model, tensor);
        }
    }

    /// <summary>As <see cref="ThrowIfError(OrtStatus*, string, string?, string?)"/>, for use while the runtime is being initialized.</summary>
    public static void ThrowIfError(OrtApi* api, OrtStatus* status, string operation)
    {
        if (status is not null)
        {
            Throw(api, status, operation, null, null);
        }
    }

    /// <summary>Reads and releases a failed status without throwing; returns its message (for fallbacks).</summary>
    public static string ReadAndRelease(OrtStatus* status, out OrtErrorCode code) => ReadAndRelease(OrtRuntime.Api, status, out code);

    private static string ReadAndRelease(OrtApi* api, OrtStatus* status, out OrtErrorCode code)
    {
        try
        {
            code = api->GetErrorCode(status);
            return Marshal.PtrToStringUTF8((nint)api->GetErrorMessage(status)) ?? "(no message)";
        }
        finally
        {
            api->ReleaseStatus(status);
        }
    }

    /// <summary>How an ORT error code maps to ours: bad arguments and bad model bytes are the caller's fault.</summary>
    public static ErrorCode Map(OrtErrorCode code) => code switch
    {
        OrtErrorCode.InvalidArgument or OrtErrorCode.InvalidGraph or OrtErrorCode.InvalidProtobuf or OrtErrorCode.NoModel => ErrorCode.InvalidInput,
        OrtErrorCode.NoSuchFile => ErrorCode.NotFound,
        _ => ErrorCode.RuntimeFailure,
    };

    /// <summary>The C header's name for a code, which is what people search for.</summary>
    public static string Name(OrtErrorCode code) => code switch
    {
        OrtErrorCode.Ok => "ORT_OK",
        OrtErrorCode.Fail => "ORT_FAIL",
        OrtErrorCode.InvalidArgument => "ORT_INVALID_ARGUMENT",
        OrtErrorCode.NoSuchFile => "ORT_NO_SUCHFILE",
        OrtErrorCode.NoModel => "ORT_NO_MODEL",
        OrtErrorCode.EngineError => "ORT_ENGINE_ERROR",
        OrtErrorCode.RuntimeException => "ORT_RUNTIME_EXCEPTION",
        OrtErrorCode.InvalidProtobuf => "ORT_INVALID_PROTOBUF",
        OrtErrorCode.ModelLoaded => "ORT_MODEL_LOADED",
        OrtErrorCode.NotImplemented => "ORT_NOT_IMPLEMENTED",
        OrtErrorCode.InvalidGraph => "ORT_INVALID_GRAPH",
        OrtErrorCode.EpFail => "ORT_EP_FAIL",
        _ => "ORT error " + ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Throw(OrtApi* api, OrtStatus* status, string operation, string? model, string? tensor)
    {
        var message = ReadAndRelease(api, status, out var code);
        var subject = model is null ? string.Empty : $"Model '{model}': ";
        if (tensor is not null)
        {
            subject += $"tensor '{tensor}': ";
        }

        throw new InferenceException(Map(code), $"{subject}ONNX Runtime failed {operation} ({Name(code)}): {message}{Hint(code)}")
        {
            OrtErrorCode = (int)code,
            Model = model,
            Tensor = tensor,
        };
    }

    private static string Hint(OrtErrorCode code) => code switch
    {
        OrtErrorCode.NoSuchFile => " Check that the model file exists and is readable.",
        OrtErrorCode.InvalidProtobuf or OrtErrorCode.NoModel =>
            " The bytes are not a valid ONNX model; re-export the model or re-download it and check its SHA-256.",
        OrtErrorCode.InvalidGraph =>
            " The model's graph is invalid for this ONNX Runtime (1.30); check its opset and re-export it.",
        OrtErrorCode.InvalidArgument => " Check the request's tensor names, types and shapes against the model metadata.",
        _ => string.Empty,
    };
}
