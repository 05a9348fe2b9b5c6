using System.Runtime.InteropServices;
using Serverless.Core.Errors;
using Serverless.Core.Onnx.Native;

namespace Serverless.Core.Onnx;

/// <summary>
/// The process-wide ONNX Runtime state: the API table, one OrtEnv, the CPU memory info used to wrap our buffers and
/// ORT's default allocator. Created on first use, once, under a lock. The env uses no global thread pool, so each
/// session's own intra-op thread count holds. These objects live until the process exits: ORT documents that an
/// env must outlive every session, and sessions can be finalized late, so it is deliberately never released.
/// </summary>
public static unsafe class OrtRuntime
{
    /// <summary>The C API version we ask for (ONNX Runtime 1.30).</summary>
    public const uint ApiVersion = 30;

    private static readonly Lock InitLock = new();
    private static nint s_api;
    private static nint s_env;
    private static nint s_cpuMemoryInfo;
    private static nint s_allocator;
    private static string s_version = string.Empty;
    private static string s_libraryPath = string.Empty;

    /// <summary>ONNX Runtime's version string, e.g. "1.30.0". Loads the runtime if needed.</summary>
    public static string Version
    {
        get
        {
            _ = Api;
            return s_version;
        }
    }

    /// <summary>The file the native library was loaded from.</summary>
    public static string LibraryPath
    {
        get
        {
            _ = Api;
            return s_libraryPath;
        }
    }

    internal static OrtApi* Api
    {
        get
        {
            var api = Volatile.Read(ref s_api);
            return api != 0 ? (OrtApi*)api : Initialize();
        }
    }

    internal static OrtEnv* Env => Api is not null ? (OrtEnv*)s_env : null;

    /// <summary>Describes ordinary CPU memory; every tensor we wrap lives there.</summary>
    internal static OrtMemoryInfo* CpuMemoryInfo => Api is not null ? (OrtMemoryInfo*)s_cpuMemoryInfo : null;

    /// <summary>ORT's default (non-arena) CPU allocator: used for names it returns and string tensors we create.</summary>
    internal static OrtAllocator* Allocator => Api is not null ? (OrtAllocator*)s_allocator : null;

    /// <summary>Loads the runtime now rather than on the first session (so init cost lands where the caller wants it).</summary>
    public static void EnsureLoaded() => _ = Api;

    /// <summary>Frees memory that ORT allocated with the default allocator and handed to us.</summary>
    internal static void FreeAllocated(void* pointer)
    {
        if (pointer is null)
        {
            return;
        }

        var status = Api->AllocatorFree(Allocator, pointer);
        if (status is not null)
        {
            Api->ReleaseStatus(status); // freeing cannot usefully fail; never throw from cleanup
        }
    }

    private static OrtApi* Initialize()
    {
        lock (InitLock)
        {
            if (s_api != 0)
            {
                return (OrtApi*)s_api;
            }

            var getApiBase = (delegate* unmanaged[Cdecl]<OrtApiBase*>)OrtNativeLibrary.LoadGetApiBase(out var path);
            var apiBase = getApiBase();
            if (apiBase is null)
            {
                throw new InferenceException(ErrorCode.RuntimeFailure, $"ONNX Runtime at {path} returned no API base; the library is damaged. Reinstall it.");
            }

            var version = Marshal.PtrToStringUTF8((nint)apiBase->GetVersionString()) ?? "unknown";
            var api = apiBase->GetApi(ApiVersion);
            if (api is null)
            {
                throw new InferenceException(ErrorCode.RuntimeFailure,
                    $"ONNX Runtime {version} at {path} does not provide C API version {ApiVersion}; install ONNX Runtime 1.30 or newer ({OrtNativeLibrary.NuGetPackage}).");
            }

            OrtEnv* env;
            fixed (byte* logId = "serverless"u8)
            {
                OrtErrors.ThrowIfError(api, api->CreateEnv(OrtLoggingLevel.Warning, logId, &env), "creating the environment");
            }

            // Telemetry is a no-op outside Windows builds; switch it off so no platform sends anything.
            var telemetry = api->DisableTelemetryEvents(env);
            if (telemetry is not null)
            {
                api->ReleaseStatus(telemetry);
            }

            OrtMemoryInfo* cpu;
            OrtErrors.ThrowIfError(api, api->CreateCpuMemoryInfo(OrtAllocatorType.Device, OrtMemType.Default, &cpu), "describing CPU memory");
            OrtAllocator* allocator;
            OrtErrors.ThrowIfError(api, api->GetAllocatorWithDefaultOptions(&allocator), "getting the default allocator");

            s_env = (nint)env;
            s_cpuMemoryInfo = (nint)cpu;
            s_allocator = (nint)allocator;
            s_version = version;
            s_libraryPath = path;
            Volatile.Write(ref s_api, (nint)api); // published last: readers that see it see the rest
            return api;
        }
    }
}
