using System.Buffers;
using System.Text.Json;
using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Inference.Batching;
using Serverless.Core.Protocol;
using Serverless.Core.Tensors;

namespace Serverless.Core.Batch;

/// <summary>
/// Scores parsed lines in order. Consecutive compatible lines (same inputs' types and non-batch dims, same
/// outputs) are joined along dimension 0 into one Run when every input of the model has a dynamic first
/// dimension; the outputs are split back per line exactly by their rows. If the joined run fails, its lines
/// run one by one so one bad line cannot fail the others. Every line produces exactly one output line.
/// Not thread-safe; one per scoring call.
/// </summary>
internal sealed class BatchLineRunner : IDisposable
{
    private readonly IInferenceSession _session;
    private readonly ModelSignature _signature;
    private readonly string _model;
    private readonly string _version;
    private readonly int _maxRows;
    private readonly long _maxTensorElements;
    private readonly HostTensorPool _tensors = HostTensorPool.Shared;
    private readonly List<InferRequest> _group = [];
    private readonly Stack<InferRequest> _free = new();
    private readonly PooledBufferWriter _scratch = new(64 * 1024);
    private readonly bool _modelBatchable;
    private long _groupRows;

    public BatchLineRunner(IInferenceSession session, string model, string version, int maxRows, long maxTensorElements)
    {
        _session = session;
        _signature = ModelSignature.For(session);
        _model = model;
        _version = version;
        _maxRows = maxRows;
        _maxTensorElements = maxTensorElements;
        _modelBatchable = maxRows > 1 && _signature.Inputs.Length > 0 &&
            Array.TrueForAll(_signature.Inputs, s => s.HasDynamicBatch && s.ElementType != TensorElementType.String);
    }

    public long Succeeded { get; private set; }

    public long Failed { get; private set; }

    /// <summary>Number of Run calls that joined several lines.</summary>
    public long BatchedRuns { get; private set; }

    /// <summary>Starts counting <see cref="Succeeded"/> and <see cref="Failed"/> from zero (after a checkpoint took them).</summary>
    public void ResetCounts()
    {
        Succeeded = 0;
        Failed = 0;
    }

    /// <summary>Lines waiting in the current group (their output lines are not written yet).</summary>
    public int Pending => _group.Count;

    /// <summary>Parses one line; returns null and an error message (naming the line) when it is not a valid request.</summary>
    public InferRequest? Parse(ReadOnlySpan<byte> line, long lineNumber, out string? error)
    {
        error = null;
        var request = _free.Count > 0 ? _free.Pop() : new InferRequest();
        request.Reset(_signature);
        try
        {
            var context = new InferContext(_model, _maxTensorElements, _tensors, line.Length);
            InferRequestReader.Read(line, ReadOnlySpan<byte>.Empty, binaryExtension: false, _signature, request, context);
            if (request.BinaryDataOutput || Array.IndexOf(request.OutputBinary, true, 0, request.OutputCount) >= 0)
            {
                error = $"Line {lineNumber}: binary outputs cannot be written to JSON Lines. Remove binary_data_output and binary_data from the request.";
            }
        }
        catch (JsonException ex)
        {
            error = $"Line {lineNumber}: not a valid JSON infer request ({ex.Message}). Each line must be one complete infer request object.";
        }
        catch (InferenceException ex)
        {
            error = $"Line {lineNumber}: {ex.Message}";
        }

        if (error is null)
        {
            return request;
        }

        Recycle(request);
        return null;
    }

    /// <summary>Queues a parsed line, first running the current group when the line cannot join it.</summary>
    public void Add(InferRequest request, IBufferWriter<byte> output, CancellationToken cancellationToken)
    {
        var rows = Rows(request);
        if (_group.Count > 0 && (rows < 0 || !Compatible(_group[0], request) || _groupRows + rows > _maxRows))
        {
            Flush(output, cancellationToken);
        }

        _group.Add(request);
        _groupRows += Math.Max(rows, 0);
        if (rows < 0 || _groupRows >= _maxRows)
        {
            Flush(output, cancellationToken);
        }
    }

    /// <summary>Runs the queued lines and writes their output lines, in order.</summary>
    public void Flush(IBufferWriter<byte> output, CancellationToken cancellationToken)
    {
        if (_group.Count == 0)
        {
            return;
        }

        try
        {
            if (_group.Count == 1 || !TryRunJoined(output, cancellationToken))
            {
                foreach (var request in _group)
                {
                    RunSingle(request, output, cancellationToken);
                }
            }
        }
        finally
        {
            foreach (var request in _group)
            {
                Recycle(request);
            }

            _group.Clear();
            _groupRows = 0;
        }
    }

    /// <summary>Writes <c>{"error": message}</c> as the next output line.</summary>
    public void WriteError(IBufferWriter<byte> output, string message)
    {
        ErrorBody.Write(output, message);
        output.Write("\n"u8);
        Failed++;
    }

    public void Dispose()
    {
        foreach (var request in _group)
        {
            request.Release(_tensors);
        }

        _group.Clear();
        _scratch.Dispose();
    }

    /// <summary>Rows the line contributes along dimension 0, or -1 when it cannot be joined with others.</summary>
    private long Rows(InferRequest request)
    {
        if (!_modelBatchable)
        {
            return -1;
        }

        return TensorBatching.Rows(request.Inputs);
    }

    private static bool Compatible(InferRequest a, InferRequest b)
    {
        for (var i = 0; i < a.Inputs.Length; i++)
        {
            var x = a.Inputs[i]!;
            var y = b.Inputs[i]!;
            if (!TensorBatching.Joinable(x, y))
            {
                return false;
            }
        }

        return a.OutputCount == b.OutputCount &&
            a.OutputIndices.AsSpan(0, a.OutputCount).SequenceEqual(b.OutputIndices.AsSpan(0, b.OutputCount));
    }

    private bool TryRunJoined(IBufferWriter<byte> output, CancellationToken cancellationToken)
    {
        var first = _group[0];
        var count = first.OutputCount;
        var inputs = new HostTensor[_signature.Inputs.Length];
        var results = new IOutputTensor?[count];
        try
        {
            for (var i = 0; i < inputs.Length; i++)
            {
                var joined = inputs[i] = _tensors.Rent();
                TensorBatching.InitializeJoined(joined, first.Inputs[i]!, _groupRows);
                var offset = 0;
                foreach (var request in _group)
                {
                    offset = TensorBatching.AppendRows(joined, request.Inputs[i]!, offset);
                }
            }

            _session.Run(inputs, first.OutputIndices.AsSpan(0, count), results, cancellationToken);
            foreach (var result in results)
            {
                if (!TensorBatching.SplitsByRows(result, _groupRows))
                {
                    return false; // the outputs don't split by rows: score the lines one by one
                }
            }

            BatchedRuns++;
            var slices = new TensorSlice[count];
            for (var s = 0; s < count; s++)
            {
                slices[s] = new TensorSlice(results[s]!.Shape.Length);
            }

            long row = 0;
            foreach (var request in _group)
            {
                var rows = request.Inputs[0]!.Shape[0];
                for (var s = 0; s < count; s++)
                {
                    slices[s].Set(results[s]!, row, rows);
                    request.Results[s] = slices[s];
                }

                WriteResponse(request, output);
                row += rows;
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            throw;
        }
#pragma warning disable CA1031 // Any failure of the joined run falls back to per-line runs, which report their own errors.
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
        finally
        {
            foreach (var result in results)
            {
                result?.Dispose();
            }

            foreach (var input in inputs)
            {
                if (input is not null)
                {
                    _tensors.Return(input);
                }
            }
        }
    }

    private void RunSingle(InferRequest request, IBufferWriter<byte> output, CancellationToken cancellationToken)
    {
        var results = request.Results.AsSpan(0, request.OutputCount);
        try
        {
            _session.Run(request.Inputs, request.OutputIndices.AsSpan(0, request.OutputCount), results, cancellationToken);
            foreach (var result in results)
            {
                if (result is null)
                {
                    throw new InferenceException(ErrorCode.Internal, $"Model '{_model}': the session returned no tensor for a requested output.");
                }
            }

            WriteResponse(request, output);
        }
        catch (InferenceException ex)
        {
            WriteError(output, ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            WriteError(output, $"Model '{_model}': the run failed unexpectedly ({ex.GetType().Name}). The other lines are unaffected; check the line's values.");
        }
        finally
        {
            for (var i = 0; i < results.Length; i++)
            {
                results[i]?.Dispose();
                results[i] = null;
            }
        }
    }

    private void WriteResponse(InferRequest request, IBufferWriter<byte> output)
    {
        _scratch.Clear();
        try
        {
            InferResponseWriter.Write(_scratch, long.MaxValue, _model, _version, request);
        }
        catch (InferenceException ex)
        {
            WriteError(output, ex.Message);
            return;
        }

        output.Write(_scratch.WrittenSpan);
        output.Write("\n"u8);
        Succeeded++;
    }

    private void Recycle(InferRequest request)
    {
        for (var i = 0; i < request.Results.Length; i++)
        {
            request.Results[i] = null; // slices are views, never disposed through the request
        }

        request.Release(_tensors);
        if (_free.Count < 128)
        {
            _free.Push(request);
        }
    }
}
