using System.Collections.ObjectModel;
using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Tensors;
using NativeValue = Serverless.Core.Onnx.Native.OrtValue;

namespace Serverless.Core.Onnx;

/// <summary>
/// A loaded ONNX model. <see cref="Run(ReadOnlySpan{HostTensor}, ReadOnlySpan{int}, Span{IOutputTensor?}, CancellationToken)"/>
/// serves requests (inputs matched by name, outputs allocated by ORT);
/// <see cref="Run(ReadOnlySpan{OrtValue}, ReadOnlySpan{OrtValue}, CancellationToken)"/> is the allocation-free path over
/// reused values. Both check inputs against the model before the native call, so bad input is an
/// <see cref="ErrorCode.InvalidInput"/> naming the tensor, never a native failure. Runs are safe from many threads;
/// a run holds a reference on the native session, so disposing while runs are in flight frees it after they end.
/// </summary>
public sealed unsafe class OnnxSession : IInferenceSession
{
    private const int StackNames = 16;

    private readonly OrtSessionHandle _handle;
    private readonly TensorSpec[] _inputs;
    private readonly TensorSpec[] _outputs;
    private readonly byte** _inputNames;
    private readonly byte** _outputNames;

    internal OnnxSession(string modelName, OrtSessionHandle handle, TensorSpec[] inputs, TensorSpec[] outputs, byte** inputNames, byte** outputNames, string executionProvider, string? fallbackReason)
    {
        ModelName = modelName;
        _handle = handle;
        _inputs = inputs;
        _outputs = outputs;
        _inputNames = inputNames;
        _outputNames = outputNames;
        Inputs = new ReadOnlyCollection<TensorSpec>(inputs);
        Outputs = new ReadOnlyCollection<TensorSpec>(outputs);
        ExecutionProvider = executionProvider;
        FallbackReason = fallbackReason;
    }

    public string ModelName { get; }

    public IReadOnlyList<TensorSpec> Inputs { get; }

    public IReadOnlyList<TensorSpec> Outputs { get; }

    public string ExecutionProvider { get; }

    /// <summary>Why a requested GPU provider was not used (null when none was requested or it worked); for the server to log.</summary>
    public string? FallbackReason { get; }

    public bool IsDisposed => _handle.IsClosed;

    public void Run(ReadOnlySpan<HostTensor> inputs, ReadOnlySpan<int> outputIndices, Span<IOutputTensor?> results, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (results.Length < outputIndices.Length)
        {
            throw new ArgumentException($"results has room for {results.Length} tensors but {outputIndices.Length} outputs were requested.", nameof(results));
        }

        if (inputs.Length != _inputs.Length)
        {
            throw InferenceException.BadInput(
                $"Model '{ModelName}' expects {_inputs.Length} input(s) ({NameList(_inputs)}) but got {inputs.Length} ({NameList(inputs)}). Send exactly the model's inputs.", ModelName);
        }

        foreach (var index in outputIndices)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index, nameof(outputIndices));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _outputs.Length, nameof(outputIndices));
        }

        var inputCount = inputs.Length;
        Span<int> modelIndex = inputCount <= StackNames ? stackalloc int[StackNames] : new int[inputCount];
        Span<bool> seen = _inputs.Length <= StackNames ? stackalloc bool[StackNames] : new bool[_inputs.Length];
        seen.Clear();
        for (var i = 0; i < inputCount; i++)
        {
            var tensor = inputs[i] ?? throw new ArgumentException($"inputs[{i}] is null.", nameof(inputs));
            var j = FindInput(tensor.Name);
            if (seen[j])
            {
                throw InferenceException.BadInput($"Model '{ModelName}': input '{tensor.Name}' was given more than once. Send each input once.", ModelName, tensor.Name);
            }

            seen[j] = true;
            modelIndex[i] = j;
            CheckTensor(_inputs[j], "input", tensor.ElementType, tensor.Shape);
        }

        var values = new OrtValue?[inputCount];
        var outputCount = outputIndices.Length;
        var scratchLength = 2 * (inputCount + outputCount);
        Span<nint> scratch = scratchLength <= 4 * StackNames ? stackalloc nint[4 * StackNames] : new nint[scratchLength];
        scratch.Clear();
        try
        {
            fixed (nint* p = scratch)
            {
                var inNames = (byte**)p;
                var inValues = (NativeValue**)(p + inputCount);
                var outNames = (byte**)(p + (2 * inputCount));
                var outValues = (NativeValue**)(p + (2 * inputCount) + outputCount);
                for (var i = 0; i < inputCount; i++)
                {
                    values[i] = OrtValue.FromHostTensor(inputs[i], ModelName);
                    inNames[i] = _inputNames[modelIndex[i]];
                    inValues[i] = values[i]!.Pointer;
                }

                for (var k = 0; k < outputCount; k++)
                {
                    outNames[k] = _outputNames[outputIndices[k]];
                }

                RunNative(inNames, inValues, (nuint)inputCount, outNames, outValues, (nuint)outputCount, cancellationToken);
                TakeOutputs(outValues, outputIndices, results);
            }
        }
        finally
        {
            foreach (var value in values)
            {
                value?.Dispose();
            }
        }
    }

    /// <summary>
    /// Runs with caller-owned values: <paramref name="inputs"/>[i] is the model's input i and <paramref name="outputs"/>[k]
    /// its output k, preallocated with the shape the model will produce. Reusing the same values makes repeated runs
    /// allocate no managed memory (when <paramref name="cancellationToken"/> cannot be cancelled).
    /// </summary>
    public void Run(ReadOnlySpan<OrtValue> inputs, ReadOnlySpan<OrtValue> outputs, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (inputs.Length != _inputs.Length || outputs.Length != _outputs.Length)
        {
            throw InferenceException.BadInput(
                $"Model '{ModelName}' expects {_inputs.Length} input(s) ({NameList(_inputs)}) and {_outputs.Length} output(s) ({NameList(_outputs)}), in model order; got {inputs.Length} and {outputs.Length}.", ModelName);
        }

        var total = inputs.Length + outputs.Length;
        Span<nint> scratch = total <= 2 * StackNames ? stackalloc nint[2 * StackNames] : new nint[total];
        Span<bool> added = total <= 2 * StackNames ? stackalloc bool[2 * StackNames] : new bool[total];
        added.Clear();
        try
        {
            fixed (nint* p = scratch)
            {
                var inValues = (NativeValue**)p;
                var outValues = (NativeValue**)(p + inputs.Length);
                for (var i = 0; i < inputs.Length; i++)
                {
                    var value = inputs[i] ?? throw new ArgumentException($"inputs[{i}] is null.", nameof(inputs));
                    CheckTensor(_inputs[i], "input", value.ElementType, value.Shape);
                    value.DangerousAddRef(ref added[i]); // a value disposed mid-run stays alive until the run ends
                    inValues[i] = value.Pointer;
                }

                for (var k = 0; k < outputs.Length; k++)
                {
                    var value = outputs[k] ?? throw new ArgumentException($"outputs[{k}] is null.", nameof(outputs));
                    CheckTensor(_outputs[k], "output", value.ElementType, value.Shape);
                    value.DangerousAddRef(ref added[inputs.Length + k]);
                    outValues[k] = value.Pointer;
                }

                RunNative(_inputNames, inValues, (nuint)inputs.Length, _outputNames, outValues, (nuint)outputs.Length, cancellationToken);
            }
        }
        finally
        {
            for (var i = 0; i < total; i++)
            {
                if (added[i])
                {
                    (i < inputs.Length ? inputs[i] : outputs[i - inputs.Length]).DangerousRelease();
                }
            }
        }
    }

    /// <summary>Releases the native session (after any run still in flight). Safe to call more than once.</summary>
    public void Dispose() => _handle.Dispose();

    private void RunNative(byte** inNames, NativeValue** inValues, nuint inputCount, byte** outNames, NativeValue** outValues, nuint outputCount, CancellationToken cancellationToken)
    {
        OrtRunOptionsHandle? runOptions = null;
        CancellationTokenRegistration registration = default;
        var addedSession = false;
        try
        {
            if (cancellationToken.CanBeCanceled)
            {
                cancellationToken.ThrowIfCancellationRequested();
                runOptions = OrtRunOptionsHandle.Create(ModelName);
                registration = cancellationToken.UnsafeRegister(static state => ((OrtRunOptionsHandle)state!).Terminate(), runOptions);
            }

            _handle.DangerousAddRef(ref addedSession);
            var status = OrtRuntime.Api->Run(_handle.Pointer, runOptions is null ? null : runOptions.Pointer, inNames, inValues, inputCount, outNames, outputCount, outValues);
            if (status is not null && cancellationToken.IsCancellationRequested)
            {
                OrtErrors.ReadAndRelease(status, out _);
                throw new OperationCanceledException($"Model '{ModelName}': the run was cancelled.", cancellationToken);
            }

            OrtErrors.ThrowIfError(status, "running the model", ModelName);
        }
        finally
        {
            registration.Dispose(); // waits for a callback in progress, so the options outlive it
            runOptions?.Dispose();
            if (addedSession)
            {
                _handle.DangerousRelease();
            }
        }
    }

    private void TakeOutputs(NativeValue** outValues, ReadOnlySpan<int> outputIndices, Span<IOutputTensor?> results)
    {
        var k = 0;
        try
        {
            for (; k < outputIndices.Length; k++)
            {
                var value = outValues[k];
                outValues[k] = null; // FromRunOutput owns it from here, even when it throws
                results[k] = OrtValue.FromRunOutput(value, _outputs[outputIndices[k]].Name, ModelName);
            }
        }
        catch
        {
            for (var j = 0; j < k; j++)
            {
                results[j]?.Dispose();
                results[j] = null;
            }

            for (var j = k; j < outputIndices.Length; j++)
            {
                if (outValues[j] is not null)
                {
                    OrtValue.Release(outValues[j]); // not inline: see OrtValue.Describe
                }
            }

            throw;
        }
    }

    private int FindInput(string name)
    {
        for (var j = 0; j < _inputs.Length; j++)
        {
            if (string.Equals(_inputs[j].Name, name, StringComparison.Ordinal))
            {
                return j;
            }
        }

        throw InferenceException.BadInput(
            $"Model '{ModelName}' has no input named '{name}'. Its inputs are: {NameList(_inputs)}.", ModelName, name);
    }

    /// <summary>Type, rank and every fixed dimension must match; dynamic (-1) dimensions take any size.</summary>
    private void CheckTensor(TensorSpec spec, string role, TensorElementType type, ReadOnlySpan<long> shape)
    {
        if (spec.ElementType == TensorElementType.Undefined)
        {
            throw InferenceException.BadInput($"Model '{ModelName}': {role} '{spec.Name}' is not a tensor (a sequence or map), which this server cannot feed.", ModelName, spec.Name);
        }

        if (type != spec.ElementType)
        {
            throw InferenceException.BadInput(
                $"Model '{ModelName}', {role} '{spec.Name}': expected datatype {Describe(spec.ElementType)}, got {Describe(type)}. Send {Describe(spec.ElementType)} data.", ModelName, spec.Name);
        }

        var expected = spec.Shape;
        var matches = shape.Length == expected.Length;
        for (var d = 0; matches && d < expected.Length; d++)
        {
            matches = expected[d] < 0 || expected[d] == shape[d];
        }

        if (!matches)
        {
            throw InferenceException.BadInput(
                $"Model '{ModelName}', {role} '{spec.Name}': expected shape {spec.ShapeText} (-1 = any size), got [{string.Join(",", shape.ToArray())}]. Reshape the tensor to match.", ModelName, spec.Name);
        }
    }

    private static string Describe(TensorElementType type) => type.ToProtocolName() ?? type.ToString();

    private static string NameList(TensorSpec[] specs) => string.Join(", ", specs.Select(s => $"'{s.Name}'"));

    private static string NameList(ReadOnlySpan<HostTensor> tensors)
    {
        var names = new string[tensors.Length];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = $"'{tensors[i]?.Name}'";
        }

        return string.Join(", ", names);
    }
}
