using System.Runtime.InteropServices;
using Serverless.Core.Tensors;

namespace Serverless.Core.Onnx.Native;

// Opaque ONNX Runtime types. They are empty so that pointers to them are typed: passing an OrtSession* where an
// OrtValue* is expected does not compile.
internal struct OrtEnv;
internal struct OrtStatus;
internal struct OrtMemoryInfo;
internal struct OrtSession;
internal struct OrtValue;
internal struct OrtRunOptions;
internal struct OrtTypeInfo;
internal struct OrtTensorTypeAndShapeInfo;
internal struct OrtSessionOptions;
internal struct OrtAllocator;
internal struct OrtCUDAProviderOptionsV2;

/// <summary>OrtErrorCode from onnxruntime_c_api.h.</summary>
internal enum OrtErrorCode
{
    Ok = 0,
    Fail = 1,
    InvalidArgument = 2,
    NoSuchFile = 3,
    NoModel = 4,
    EngineError = 5,
    RuntimeException = 6,
    InvalidProtobuf = 7,
    ModelLoaded = 8,
    NotImplemented = 9,
    InvalidGraph = 10,
    EpFail = 11,
}

internal enum OrtLoggingLevel
{
    Verbose = 0,
    Info = 1,
    Warning = 2,
    Error = 3,
    Fatal = 4,
}

/// <summary>ONNXType: what kind of value an input, output or OrtValue holds.</summary>
internal enum OnnxValueType
{
    Unknown = 0,
    Tensor = 1,
    Sequence = 2,
    Map = 3,
    Opaque = 4,
    SparseTensor = 5,
    Optional = 6,
}

internal enum OrtAllocatorType
{
    Invalid = -1,
    Device = 0,
    Arena = 1,
}

internal enum OrtMemType
{
    CpuInput = -2,
    CpuOutput = -1,
    Default = 0,
}

/// <summary>The two entry points <c>OrtGetApiBase()</c> returns.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct OrtApiBase
{
    public delegate* unmanaged[Cdecl]<uint, OrtApi*> GetApi;
    public delegate* unmanaged[Cdecl]<byte*> GetVersionString;
}

/// <summary>
/// The OrtApi function table, field for field in the order of onnxruntime_c_api.h. ONNX Runtime only ever appends
/// to this table, so a prefix of it is valid for every later version (we ask for version 30, ORT 1.30). A field in
/// the wrong place calls the wrong function, so the index of every entry is written next to it and
/// OrtApiTableTests checks the offsets and calls late entries. Entries we do not call are kept as <c>nint</c> so
/// that the offsets stay right. All supported targets are 64-bit, where Cdecl is the only convention.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct OrtApi
{
#pragma warning disable CS0649 // Assigned by ONNX Runtime: we only ever read this struct through the pointer GetApi returns.
    // --- Version 1 ---
    public nint CreateStatus; // 0, unused
    public delegate* unmanaged[Cdecl]<OrtStatus*, OrtErrorCode> GetErrorCode; // 1
    public delegate* unmanaged[Cdecl]<OrtStatus*, byte*> GetErrorMessage; // 2
    public delegate* unmanaged[Cdecl]<OrtLoggingLevel, byte*, OrtEnv**, OrtStatus*> CreateEnv; // 3
    public nint CreateEnvWithCustomLogger; // 4, unused
    public nint EnableTelemetryEvents; // 5, unused
    public delegate* unmanaged[Cdecl]<OrtEnv*, OrtStatus*> DisableTelemetryEvents; // 6
    public delegate* unmanaged[Cdecl]<OrtEnv*, void*, OrtSessionOptions*, OrtSession**, OrtStatus*> CreateSession; // 7
    public delegate* unmanaged[Cdecl]<OrtEnv*, void*, nuint, OrtSessionOptions*, OrtSession**, OrtStatus*> CreateSessionFromArray; // 8
    public delegate* unmanaged[Cdecl]<OrtSession*, OrtRunOptions*, byte**, OrtValue**, nuint, byte**, nuint, OrtValue**, OrtStatus*> Run; // 9
    public delegate* unmanaged[Cdecl]<OrtSessionOptions**, OrtStatus*> CreateSessionOptions; // 10
    public delegate* unmanaged[Cdecl]<OrtSessionOptions*, void*, OrtStatus*> SetOptimizedModelFilePath; // 11
    public nint CloneSessionOptions; // 12, unused
    public nint SetSessionExecutionMode; // 13, unused
    public nint EnableProfiling; // 14, unused
    public nint DisableProfiling; // 15, unused
    public nint EnableMemPattern; // 16, unused
    public nint DisableMemPattern; // 17, unused
    public delegate* unmanaged[Cdecl]<OrtSessionOptions*, OrtStatus*> EnableCpuMemArena; // 18
    public delegate* unmanaged[Cdecl]<OrtSessionOptions*, OrtStatus*> DisableCpuMemArena; // 19
    public delegate* unmanaged[Cdecl]<OrtSessionOptions*, byte*, OrtStatus*> SetSessionLogId; // 20
    public nint SetSessionLogVerbosityLevel; // 21, unused
    public delegate* unmanaged[Cdecl]<OrtSessionOptions*, int, OrtStatus*> SetSessionLogSeverityLevel; // 22
    public delegate* unmanaged[Cdecl]<OrtSessionOptions*, int, OrtStatus*> SetSessionGraphOptimizationLevel; // 23
    public delegate* unmanaged[Cdecl]<OrtSessionOptions*, int, OrtStatus*> SetIntraOpNumThreads; // 24
    public delegate* unmanaged[Cdecl]<OrtSessionOptions*, int, OrtStatus*> SetInterOpNumThreads; // 25
    public nint CreateCustomOpDomain; // 26, unused
    public nint CustomOpDomain_Add; // 27, unused
    public nint AddCustomOpDomain; // 28, unused
    public nint RegisterCustomOpsLibrary; // 29, unused
    public delegate* unmanaged[Cdecl]<OrtSession*, nuint*, OrtStatus*> SessionGetInputCount; // 30
    public delegate* unmanaged[Cdecl]<OrtSession*, nuint*, OrtStatus*> SessionGetOutputCount; // 31
    public nint SessionGetOverridableInitializerCount; // 32, unused
    public delegate* unmanaged[Cdecl]<OrtSession*, nuint, OrtTypeInfo**, OrtStatus*> SessionGetInputTypeInfo; // 33
    public delegate* unmanaged[Cdecl]<OrtSession*, nuint, OrtTypeInfo**, OrtStatus*> SessionGetOutputTypeInfo; // 34
    public nint SessionGetOverridableInitializerTypeInfo; // 35, unused
    public delegate* unmanaged[Cdecl]<OrtSession*, nuint, OrtAllocator*, byte**, OrtStatus*> SessionGetInputName; // 36
    public delegate* unmanaged[Cdecl]<OrtSession*, nuint, OrtAllocator*, byte**, OrtStatus*> SessionGetOutputName; // 37
    public nint SessionGetOverridableInitializerName; // 38, unused
    public delegate* unmanaged[Cdecl]<OrtRunOptions**, OrtStatus*> CreateRunOptions; // 39
    public nint RunOptionsSetRunLogVerbosityLevel; // 40, unused
    public nint RunOptionsSetRunLogSeverityLevel; // 41, unused
    public nint RunOptionsSetRunTag; // 42, unused
    public nint RunOptionsGetRunLogVerbosityLevel; // 43, unused
    public nint RunOptionsGetRunLogSeverityLevel; // 44, unused
    public nint RunOptionsGetRunTag; // 45, unused
    public delegate* unmanaged[Cdecl]<OrtRunOptions*, OrtStatus*> RunOptionsSetTerminate; // 46
    public delegate* unmanaged[Cdecl]<OrtRunOptions*, OrtStatus*> RunOptionsUnsetTerminate; // 47
    public delegate* unmanaged[Cdecl]<OrtAllocator*, long*, nuint, TensorElementType, OrtValue**, OrtStatus*> CreateTensorAsOrtValue; // 48
    public delegate* unmanaged[Cdecl]<OrtMemoryInfo*, void*, nuint, long*, nuint, TensorElementType, OrtValue**, OrtStatus*> CreateTensorWithDataAsOrtValue; // 49
    public delegate* unmanaged[Cdecl]<OrtValue*, int*, OrtStatus*> IsTensor; // 50
    public delegate* unmanaged[Cdecl]<OrtValue*, void**, OrtStatus*> GetTensorMutableData; // 51
    public delegate* unmanaged[Cdecl]<OrtValue*, byte**, nuint, OrtStatus*> FillStringTensor; // 52
    public delegate* unmanaged[Cdecl]<OrtValue*, nuint*, OrtStatus*> GetStringTensorDataLength; // 53
    public delegate* unmanaged[Cdecl]<OrtValue*, void*, nuint, nuint*, nuint, OrtStatus*> GetStringTensorContent; // 54
    public delegate* unmanaged[Cdecl]<OrtTypeInfo*, OrtTensorTypeAndShapeInfo**, OrtStatus*> CastTypeInfoToTensorInfo; // 55
    public delegate* unmanaged[Cdecl]<OrtTypeInfo*, OnnxValueType*, OrtStatus*> GetOnnxTypeFromTypeInfo; // 56
    public nint CreateTensorTypeAndShapeInfo; // 57, unused
    public nint SetTensorElementType; // 58, unused
    public nint SetDimensions; // 59, unused
    public delegate* unmanaged[Cdecl]<OrtTensorTypeAndShapeInfo*, TensorElementType*, OrtStatus*> GetTensorElementType; // 60
    public delegate* unmanaged[Cdecl]<OrtTensorTypeAndShapeInfo*, nuint*, OrtStatus*> GetDimensionsCount; // 61
    public delegate* unmanaged[Cdecl]<OrtTensorTypeAndShapeInfo*, long*, nuint, OrtStatus*> GetDimensions; // 62
    public delegate* unmanaged[Cdecl]<OrtTensorTypeAndShapeInfo*, byte**, nuint, OrtStatus*> GetSymbolicDimensions; // 63
    public delegate* unmanaged[Cdecl]<OrtTensorTypeAndShapeInfo*, nuint*, OrtStatus*> GetTensorShapeElementCount; // 64
    public delegate* unmanaged[Cdecl]<OrtValue*, OrtTensorTypeAndShapeInfo**, OrtStatus*> GetTensorTypeAndShape; // 65
    public nint GetTypeInfo; // 66, unused
    public delegate* unmanaged[Cdecl]<OrtValue*, OnnxValueType*, OrtStatus*> GetValueType; // 67
    public nint CreateMemoryInfo; // 68, unused
    public delegate* unmanaged[Cdecl]<OrtAllocatorType, OrtMemType, OrtMemoryInfo**, OrtStatus*> CreateCpuMemoryInfo; // 69
    public nint CompareMemoryInfo; // 70, unused
    public nint MemoryInfoGetName; // 71, unused
    public nint MemoryInfoGetId; // 72, unused
    public nint MemoryInfoGetMemType; // 73, unused
    public nint MemoryInfoGetType; // 74, unused
    public nint AllocatorAlloc; // 75, unused
    public delegate* unmanaged[Cdecl]<OrtAllocator*, void*, OrtStatus*> AllocatorFree; // 76
    public nint AllocatorGetInfo; // 77, unused
    public delegate* unmanaged[Cdecl]<OrtAllocator**, OrtStatus*> GetAllocatorWithDefaultOptions; // 78
    public nint AddFreeDimensionOverride; // 79, unused
    public nint GetValue; // 80, unused
    public nint GetValueCount; // 81, unused
    public nint CreateValue; // 82, unused
    public nint CreateOpaqueValue; // 83, unused
    public nint GetOpaqueValue; // 84, unused
    public nint KernelInfoGetAttribute_float; // 85, unused
    public nint KernelInfoGetAttribute_int64; // 86, unused
    public nint KernelInfoGetAttribute_string; // 87, unused
    public nint KernelContext_GetInputCount; // 88, unused
    public nint KernelContext_GetOutputCount; // 89, unused
    public nint KernelContext_GetInput; // 90, unused
    public nint KernelContext_GetOutput; // 91, unused
    public delegate* unmanaged[Cdecl]<OrtEnv*, void> ReleaseEnv; // 92
    public delegate* unmanaged[Cdecl]<OrtStatus*, void> ReleaseStatus; // 93
    public delegate* unmanaged[Cdecl]<OrtMemoryInfo*, void> ReleaseMemoryInfo; // 94
    public delegate* unmanaged[Cdecl]<OrtSession*, void> ReleaseSession; // 95
    public delegate* unmanaged[Cdecl]<OrtValue*, void> ReleaseValue; // 96
    public delegate* unmanaged[Cdecl]<OrtRunOptions*, void> ReleaseRunOptions; // 97
    public delegate* unmanaged[Cdecl]<OrtTypeInfo*, void> ReleaseTypeInfo; // 98
    public delegate* unmanaged[Cdecl]<OrtTensorTypeAndShapeInfo*, void> ReleaseTensorTypeAndShapeInfo; // 99
    public delegate* unmanaged[Cdecl]<OrtSessionOptions*, void> ReleaseSessionOptions; // 100
    public nint ReleaseCustomOpDomain; // 101, unused
    // --- Version 2 onwards (appended; never reordered) ---
    public nint GetDenotationFromTypeInfo; // 102, unused
    public nint CastTypeInfoToMapTypeInfo; // 103, unused
    public nint CastTypeInfoToSequenceTypeInfo; // 104, unused
    public nint GetMapKeyType; // 105, unused
    public nint GetMapValueType; // 106, unused
    public nint GetSequenceElementType; // 107, unused
    public nint ReleaseMapTypeInfo; // 108, unused
    public nint ReleaseSequenceTypeInfo; // 109, unused
    public nint SessionEndProfiling; // 110, unused
    public nint SessionGetModelMetadata; // 111, unused
    public nint ModelMetadataGetProducerName; // 112, unused
    public nint ModelMetadataGetGraphName; // 113, unused
    public nint ModelMetadataGetDomain; // 114, unused
    public nint ModelMetadataGetDescription; // 115, unused
    public nint ModelMetadataLookupCustomMetadataMap; // 116, unused
    public nint ModelMetadataGetVersion; // 117, unused
    public nint ReleaseModelMetadata; // 118, unused
    public nint CreateEnvWithGlobalThreadPools; // 119, unused
    public nint DisablePerSessionThreads; // 120, unused
    public nint CreateThreadingOptions; // 121, unused
    public nint ReleaseThreadingOptions; // 122, unused
    public nint ModelMetadataGetCustomMetadataMapKeys; // 123, unused
    public nint AddFreeDimensionOverrideByName; // 124, unused
    public delegate* unmanaged[Cdecl]<byte***, int*, OrtStatus*> GetAvailableProviders; // 125
    public delegate* unmanaged[Cdecl]<byte**, int, OrtStatus*> ReleaseAvailableProviders; // 126
    public delegate* unmanaged[Cdecl]<OrtValue*, nuint, nuint*, OrtStatus*> GetStringTensorElementLength; // 127
    public delegate* unmanaged[Cdecl]<OrtValue*, nuint, nuint, void*, OrtStatus*> GetStringTensorElement; // 128
    public delegate* unmanaged[Cdecl]<OrtValue*, byte*, nuint, OrtStatus*> FillStringTensorElement; // 129
    public delegate* unmanaged[Cdecl]<OrtSessionOptions*, byte*, byte*, OrtStatus*> AddSessionConfigEntry; // 130
    public nint CreateAllocator; // 131, unused
    public nint ReleaseAllocator; // 132, unused
    public nint RunWithBinding; // 133, unused
    public nint CreateIoBinding; // 134, unused
    public nint ReleaseIoBinding; // 135, unused
    public nint BindInput; // 136, unused
    public nint BindOutput; // 137, unused
    public nint BindOutputToDevice; // 138, unused
    public nint GetBoundOutputNames; // 139, unused
    public nint GetBoundOutputValues; // 140, unused
    public nint ClearBoundInputs; // 141, unused
    public nint ClearBoundOutputs; // 142, unused
    public nint TensorAt; // 143, unused
    public nint CreateAndRegisterAllocator; // 144, unused
    public nint SetLanguageProjection; // 145, unused
    public nint SessionGetProfilingStartTimeNs; // 146, unused
    public nint SetGlobalIntraOpNumThreads; // 147, unused
    public nint SetGlobalInterOpNumThreads; // 148, unused
    public nint SetGlobalSpinControl; // 149, unused
    public nint AddInitializer; // 150, unused
    public nint CreateEnvWithCustomLoggerAndGlobalThreadPools; // 151, unused
    public delegate* unmanaged[Cdecl]<OrtSessionOptions*, void*, OrtStatus*> SessionOptionsAppendExecutionProvider_CUDA; // 152
    public nint SessionOptionsAppendExecutionProvider_ROCM; // 153, unused
    public nint SessionOptionsAppendExecutionProvider_OpenVINO; // 154, unused
    public nint SetGlobalDenormalAsZero; // 155, unused
    public nint CreateArenaCfg; // 156, unused
    public nint ReleaseArenaCfg; // 157, unused
    public nint ModelMetadataGetGraphDescription; // 158, unused
    public nint SessionOptionsAppendExecutionProvider_TensorRT; // 159, unused
    public nint SetCurrentGpuDeviceId; // 160, unused
    public nint GetCurrentGpuDeviceId; // 161, unused
    public nint KernelInfoGetAttributeArray_float; // 162, unused
    public nint KernelInfoGetAttributeArray_int64; // 163, unused
    public nint CreateArenaCfgV2; // 164, unused
    public nint AddRunConfigEntry; // 165, unused
    public nint CreatePrepackedWeightsContainer; // 166, unused
    public nint ReleasePrepackedWeightsContainer; // 167, unused
    public nint CreateSessionWithPrepackedWeightsContainer; // 168, unused
    public nint CreateSessionFromArrayWithPrepackedWeightsContainer; // 169, unused
    public nint SessionOptionsAppendExecutionProvider_TensorRT_V2; // 170, unused
    public nint CreateTensorRTProviderOptions; // 171, unused
    public nint UpdateTensorRTProviderOptions; // 172, unused
    public nint GetTensorRTProviderOptionsAsString; // 173, unused
    public nint ReleaseTensorRTProviderOptions; // 174, unused
    public nint EnableOrtCustomOps; // 175, unused
    public nint RegisterAllocator; // 176, unused
    public nint UnregisterAllocator; // 177, unused
    public nint IsSparseTensor; // 178, unused
    public nint CreateSparseTensorAsOrtValue; // 179, unused
    public nint FillSparseTensorCoo; // 180, unused
    public nint FillSparseTensorCsr; // 181, unused
    public nint FillSparseTensorBlockSparse; // 182, unused
    public nint CreateSparseTensorWithValuesAsOrtValue; // 183, unused
    public nint UseCooIndices; // 184, unused
    public nint UseCsrIndices; // 185, unused
    public nint UseBlockSparseIndices; // 186, unused
    public nint GetSparseTensorFormat; // 187, unused
    public nint GetSparseTensorValuesTypeAndShape; // 188, unused
    public nint GetSparseTensorValues; // 189, unused
    public nint GetSparseTensorIndicesTypeShape; // 190, unused
    public nint GetSparseTensorIndices; // 191, unused
    public nint HasValue; // 192, unused
    public nint KernelContext_GetGPUComputeStream; // 193, unused
    public nint GetTensorMemoryInfo; // 194, unused
    public nint GetExecutionProviderApi; // 195, unused
    public nint SessionOptionsSetCustomCreateThreadFn; // 196, unused
    public nint SessionOptionsSetCustomThreadCreationOptions; // 197, unused
    public nint SessionOptionsSetCustomJoinThreadFn; // 198, unused
    public nint SetGlobalCustomCreateThreadFn; // 199, unused
    public nint SetGlobalCustomThreadCreationOptions; // 200, unused
    public nint SetGlobalCustomJoinThreadFn; // 201, unused
    public nint SynchronizeBoundInputs; // 202, unused
    public nint SynchronizeBoundOutputs; // 203, unused
    // --- Version 11 ---
    public delegate* unmanaged[Cdecl]<OrtSessionOptions*, OrtCUDAProviderOptionsV2*, OrtStatus*> SessionOptionsAppendExecutionProvider_CUDA_V2; // 204
    public delegate* unmanaged[Cdecl]<OrtCUDAProviderOptionsV2**, OrtStatus*> CreateCUDAProviderOptions; // 205
    public nint UpdateCUDAProviderOptions; // 206, unused
    public nint GetCUDAProviderOptionsAsString; // 207, unused
    public delegate* unmanaged[Cdecl]<OrtCUDAProviderOptionsV2*, void> ReleaseCUDAProviderOptions; // 208
#pragma warning restore CS0649

    /// <summary>Number of entries declared above (the table as of ReleaseCUDAProviderOptions, API version 11).</summary>
    public const int DeclaredEntryCount = 209;
}
