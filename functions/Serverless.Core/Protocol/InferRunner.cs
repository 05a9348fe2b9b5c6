using System.Buffers;
using Serverless.Core.Errors;
using Serverless.Core.Inference;

namespace Serverless.Core.Protocol;

/// <summary>
/// The protocol's infer path without HTTP: parse one infer request (JSON, JSON plus binary tensor data, or
/// a raw binary body), validate it against the session, run it and write the response into a buffer
/// writer. The protocol handler uses it per request; batch scoring can call it directly. Request state and
/// input tensors are pooled, so the steady state allocates (almost) nothing. Thread-safe.
/// </summary>
public sealed class InferRunner
{
    private readonly ProtocolOptions _options;
    private readonly HostTensorPool _tensors;
    private readonly Lock _lock = new();
    private readonly Stack<InferRequest> _requests = new();

    public InferRunner(ProtocolOptions? options = null, HostTensorPool? tensors = null)
    {
        _options = options ?? new ProtocolOptions();
        _tensors = tensors ?? HostTensorPool.Shared;
    }

    /// <summary>Runs a JSON infer request (no binary data).</summary>
    public InferResult Infer(IInferenceSession session, string model, string version, ReadOnlySpan<byte> json, IBufferWriter<byte> output, CancellationToken cancellationToken = default) =>
        Infer(session, model, version, json, inferenceHeaderLength: null, output, cancellationToken);

    /// <summary>
    /// Runs one infer request. <paramref name="inferenceHeaderLength"/> is the Inference-Header-Content-Length
    /// header: null for a JSON-only body, 0 for a raw binary body (single-input models), otherwise the length
    /// of the JSON header that precedes the binary tensor data. Throws <see cref="InferenceException"/> for
    /// anything wrong with the request (4xx codes) or the run.
    /// </summary>
    public InferResult Infer(IInferenceSession session, string model, string version, ReadOnlySpan<byte> body, long? inferenceHeaderLength, IBufferWriter<byte> output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(version);
        ArgumentNullException.ThrowIfNull(output);
        var signature = ModelSignature.For(session);
        var request = RentRequest();
        request.Reset(signature);
        try
        {
            var context = new InferContext(model, _options.MaxTensorElements, _tensors, inferenceHeaderLength ?? body.Length);
            if (inferenceHeaderLength is null)
            {
                ReadJson(body, ReadOnlySpan<byte>.Empty, binaryExtension: false, signature, request, context);
            }
            else if (inferenceHeaderLength.Value == 0)
            {
                RawBinaryRequestReader.Read(body, signature, request, context);
            }
            else
            {
                var headerLength = inferenceHeaderLength.Value;
                if (headerLength < 0 || headerLength > body.Length)
                {
                    throw InferenceException.BadInput($"Model '{model}': Inference-Header-Content-Length is {headerLength} but the body has only {body.Length} bytes. Set it to the byte length of the JSON header that starts the body.", model);
                }

                ReadJson(body[..(int)headerLength], body[(int)headerLength..], binaryExtension: true, signature, request, context);
            }

            cancellationToken.ThrowIfCancellationRequested();
            var outputs = request.Results.AsSpan(0, request.OutputCount);
            session.Run(request.Inputs, request.OutputIndices.AsSpan(0, request.OutputCount), outputs, cancellationToken);
            for (var i = 0; i < outputs.Length; i++)
            {
                if (outputs[i] is null)
                {
                    throw new InferenceException(ErrorCode.Internal, $"Model '{model}': the session returned no tensor for output '{signature.Outputs[request.OutputIndices[i]].Name}'.") { Model = model };
                }
            }

            return InferResponseWriter.Write(output, _options.MaxResponseBytes, model, version, request);
        }
        finally
        {
            request.Release(_tensors);
            ReturnRequest(request);
        }
    }

    private static void ReadJson(ReadOnlySpan<byte> json, ReadOnlySpan<byte> binary, bool binaryExtension, ModelSignature signature, InferRequest request, InferContext context)
    {
        try
        {
            InferRequestReader.Read(json, binary, binaryExtension, signature, request, context);
        }
        catch (System.Text.Json.JsonException ex)
        {
            var where = binaryExtension ? $" (the first {json.Length} bytes of the body, per Inference-Header-Content-Length)" : string.Empty;
            throw InferenceException.BadInput($"Model '{context.Model}': the request JSON{where} is not valid: {ex.Message}", context.Model);
        }
    }

    private InferRequest RentRequest()
    {
        lock (_lock)
        {
            if (_requests.TryPop(out var request))
            {
                return request;
            }
        }

        return new InferRequest();
    }

    private void ReturnRequest(InferRequest request)
    {
        lock (_lock)
        {
            if (_requests.Count < 64)
            {
                _requests.Push(request);
            }
        }
    }
}
