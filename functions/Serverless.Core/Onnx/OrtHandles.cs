using System.Runtime.InteropServices;
using Serverless.Core.Onnx.Native;

namespace Serverless.Core.Onnx;

// One sealed SafeHandle per kind of native object, so each object has exactly one owner and is released once,
// even when the owner is only finalized. Release functions accept what Create returned and never fail.

/// <summary>
/// Owns an OrtSession and the native block of UTF-8 input/output names that <c>Run</c> passes to it. Both are freed
/// together, after the last <c>DangerousRelease</c>, so a run in flight never sees freed names.
/// </summary>
internal sealed unsafe class OrtSessionHandle : SafeHandle
{
    private void* _names;

    public OrtSessionHandle(OrtSession* session)
        : base(0, ownsHandle: true)
    {
        SetHandle((nint)session);
    }

    public override bool IsInvalid => handle == 0;

    public OrtSession* Pointer => (OrtSession*)handle;

    /// <summary>Hands the names block (from <see cref="NativeMemory.Alloc(nuint)"/>) to this handle to free.</summary>
    public void AdoptNames(void* names) => _names = names;

    protected override bool ReleaseHandle()
    {
        OrtRuntime.Api->ReleaseSession((OrtSession*)handle);
        NativeMemory.Free(_names);
        _names = null;
        return true;
    }
}

internal sealed unsafe class OrtSessionOptionsHandle : SafeHandle
{
    private OrtSessionOptionsHandle(OrtSessionOptions* options)
        : base(0, ownsHandle: true)
    {
        SetHandle((nint)options);
    }

    public override bool IsInvalid => handle == 0;

    public OrtSessionOptions* Pointer => (OrtSessionOptions*)handle;

    public static OrtSessionOptionsHandle Create(string model)
    {
        OrtSessionOptions* options;
        OrtErrors.ThrowIfError(OrtRuntime.Api->CreateSessionOptions(&options), "creating session options", model);
        return new OrtSessionOptionsHandle(options);
    }

    protected override bool ReleaseHandle()
    {
        OrtRuntime.Api->ReleaseSessionOptions((OrtSessionOptions*)handle);
        return true;
    }
}

/// <summary>Owns an OrtRunOptions; used only for runs that can be cancelled, to set ORT's terminate flag.</summary>
internal sealed unsafe class OrtRunOptionsHandle : SafeHandle
{
    private OrtRunOptionsHandle(OrtRunOptions* options)
        : base(0, ownsHandle: true)
    {
        SetHandle((nint)options);
    }

    public override bool IsInvalid => handle == 0;

    public OrtRunOptions* Pointer => (OrtRunOptions*)handle;

    public static OrtRunOptionsHandle Create(string model)
    {
        OrtRunOptions* options;
        OrtErrors.ThrowIfError(OrtRuntime.Api->CreateRunOptions(&options), "creating run options", model);
        return new OrtRunOptionsHandle(options);
    }

    /// <summary>Asks every run using these options to stop as soon as it can. Called from a cancellation callback.</summary>
    public void Terminate()
    {
        var added = false;
        try
        {
            DangerousAddRef(ref added);
            var status = OrtRuntime.Api->RunOptionsSetTerminate(Pointer);
            if (status is not null)
            {
                OrtRuntime.Api->ReleaseStatus(status); // best effort: the run then simply finishes
            }
        }
        catch (ObjectDisposedException)
        {
            // The run already finished and released its options; nothing to stop.
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    protected override bool ReleaseHandle()
    {
        OrtRuntime.Api->ReleaseRunOptions((OrtRunOptions*)handle);
        return true;
    }
}

/// <summary>Owns an OrtTypeInfo returned by SessionGet{Input,Output}TypeInfo.</summary>
internal sealed unsafe class OrtTypeInfoHandle : SafeHandle
{
    public OrtTypeInfoHandle(OrtTypeInfo* info)
        : base(0, ownsHandle: true)
    {
        SetHandle((nint)info);
    }

    public override bool IsInvalid => handle == 0;

    public OrtTypeInfo* Pointer => (OrtTypeInfo*)handle;

    protected override bool ReleaseHandle()
    {
        OrtRuntime.Api->ReleaseTypeInfo((OrtTypeInfo*)handle);
        return true;
    }
}

/// <summary>Owns an OrtTensorTypeAndShapeInfo returned by GetTensorTypeAndShape.</summary>
internal sealed unsafe class OrtTensorShapeInfoHandle : SafeHandle
{
    public OrtTensorShapeInfoHandle(OrtTensorTypeAndShapeInfo* info)
        : base(0, ownsHandle: true)
    {
        SetHandle((nint)info);
    }

    public override bool IsInvalid => handle == 0;

    public OrtTensorTypeAndShapeInfo* Pointer => (OrtTensorTypeAndShapeInfo*)handle;

    protected override bool ReleaseHandle()
    {
        OrtRuntime.Api->ReleaseTensorTypeAndShapeInfo((OrtTensorTypeAndShapeInfo*)handle);
        return true;
    }
}
