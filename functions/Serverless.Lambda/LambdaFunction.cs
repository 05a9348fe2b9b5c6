using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Serverless.Core.Batch;
using Serverless.Core.Errors;
using Serverless.Core.Hosting;
using Serverless.Core.Observability;
using Serverless.Core.Onnx;
using Serverless.Core.Protocol;
using Serverless.Core.Storage;
using Serverless.Lambda.Batch;
using Serverless.Lambda.Events;
using Serverless.Lambda.Http;
using Serverless.Lambda.Observability;
using Serverless.Lambda.Runtime;

namespace Serverless.Lambda;

/// <summary>
/// The function itself: built once during init from the environment (models, protocol handler, batch
/// scorer), then called per event. It recognises the event's shape, hands HTTP events to the protocol
/// handler and S3/SQS events to batch scoring, and writes one structured log line with EMF metrics.
/// </summary>
public sealed class LambdaFunction : ILambdaHandler, IDisposable
{
    private readonly ModelServices _services;
    private readonly HttpEventAdapter _http;
    private readonly S3BatchHandler _batch;
    private readonly InvocationLogger _log;
    private readonly InferenceTimings _timings;
    private readonly string? _servedModel;
    private bool _coldStart = true;

    private LambdaFunction(ModelServices services, HttpEventAdapter http, S3BatchHandler batch, InvocationLogger log, InferenceTimings timings, string? servedModel)
    {
        _services = services;
        _http = http;
        _batch = batch;
        _log = log;
        _timings = timings;
        _servedModel = servedModel;
    }

    /// <summary>
    /// Builds the function: reads settings, resolves the model store, and preloads MODEL_PRELOAD models
    /// (a failed preload is logged and retried by the first request, which then answers 503 with the reason).
    /// </summary>
    public static async Task<LambdaFunction> CreateAsync(IEnvironment environment, ObjectStoreResolver resolver, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(resolver);
        var env = new LambdaEnvironment(environment);
        var settings = ServerlessSettings.FromEnvironment(env);
        var services = await ModelServices.CreateAsync(settings, OnnxSessionFactory.Instance, resolver,
            new ModelServicesOptions { Logger = new LineLogger(stderr) }, cancellationToken).ConfigureAwait(false);
        try
        {
            var timings = new InferenceTimings();
            var repository = new MeasuredModelRepository(services.Repository, timings);
            var protocol = new ProtocolHandler(repository, new ProtocolOptions
            {
                ServedModel = settings.ModelName,
                MaxRequestBytes = LambdaRuntimeLoop.MaxResponseBytes, // Lambda's request payload cap is also 6 MB
                ServerName = "serverless-lambda",
                OnUnexpectedError = ex => stderr.WriteLine($"unexpected error: {ex}"),
            });
            var http = new HttpEventAdapter(protocol.HandleAsync);
            var batchOptions = BatchOptions.FromEnvironment(env.GetVariable);
            var storeTemplate = env.GetVariable("BATCH_STORE") is { Length: > 0 } template ? template : "s3://{bucket}";
            var allowed = env.GetVariable("BATCH_MODELS")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var mode = env.GetVariable("BATCH_CONTINUATION")?.Trim().ToUpperInvariant() switch
            {
                null or "" or "MARKER" => ContinuationMode.Marker,
                "REDELIVER" => ContinuationMode.Redeliver,
                var other => throw new InferenceException(ErrorCode.InvalidInput, $"The setting BATCH_CONTINUATION='{other}' is invalid: expected marker or redeliver."),
            };
            var batch = new S3BatchHandler(new BatchScorer(repository, batchOptions), bucket => resolver.Resolve(storeTemplate.Replace("{bucket}", bucket, StringComparison.Ordinal)),
                settings.ModelName, allowed, mode, stderr);
            var log = new InvocationLogger(stdout, env.GetVariable("AWS_LAMBDA_FUNCTION_NAME") ?? "local");

            foreach (var status in await services.PreloadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (status.State != Core.Models.ModelState.Ready)
                {
                    await stderr.WriteLineAsync($"preload of model '{status.Name}' did not succeed ({status.StateText}): {status.Reason}. The first request retries it.").ConfigureAwait(false);
                }
            }

            return new LambdaFunction(services, http, batch, log, timings, settings.ModelName);
        }
        catch
        {
            services.Dispose();
            throw;
        }
    }

    public async Task HandleAsync(LambdaInvocation invocation, IBufferWriter<byte> response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var started = Stopwatch.GetTimestamp();
        var kind = EventClassifier.Classify(invocation.Payload.Span);
        var coldStart = _coldStart;
        _coldStart = false;
        int? status = null;
        string? errorType = null;
        var batchUsed = false;
        try
        {
            switch (kind)
            {
                case EventKind.HttpApiV2 or EventKind.FunctionUrl or EventKind.RestApiV1:
                    await _http.HandleAsync(kind, invocation.Payload, response, cancellationToken).ConfigureAwait(false);
                    status = _http.LastStatusCode;
                    errorType = status >= 400 ? "Http" + status : null;
                    break;
                case EventKind.S3:
                    batchUsed = true;
                    var files = await _batch.HandleS3Async(invocation.Payload, invocation.Deadline, cancellationToken).ConfigureAwait(false);
                    Write(response, files, LambdaJsonContext.Default.BatchInvocationResult);
                    break;
                case EventKind.Sqs:
                    batchUsed = true;
                    var failures = await _batch.HandleSqsAsync(invocation.Payload, invocation.Deadline, cancellationToken).ConfigureAwait(false);
                    Write(response, failures, LambdaJsonContext.Default.SqsBatchResponse);
                    break;
                case EventKind.S3TestEvent:
                    response.Write("{\"ignored\":\"s3:TestEvent\"}"u8);
                    break;
                default:
                    throw new InferenceException(ErrorCode.InvalidInput,
                        "Unrecognized event. This function handles API Gateway REST (payload 1.0) and HTTP API (2.0) requests, Function URL requests, " +
                        "S3 ObjectCreated notifications and SQS messages carrying them. Check the trigger configured for the function.");
            }
        }
        catch (Exception ex)
        {
            errorType = ex is InferenceException inference ? inference.Code.ToString() : ex.GetType().Name;
            throw;
        }
        finally
        {
            var timing = _timings.Take();
            var counts = batchUsed ? _batch.TakeCounts() : default;
            _log.Write(new InvocationRecord
            {
                RequestId = invocation.RequestId,
                Model = _servedModel ?? counts.Model,
                Event = kind.ToString(),
                ColdStart = coldStart,
                Status = status,
                LoadMilliseconds = timing.LoadMilliseconds,
                RunMilliseconds = timing.RunMilliseconds,
                Runs = timing.Runs,
                TotalMilliseconds = Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                TraceId = invocation.TraceId,
                ErrorType = errorType,
                BatchRecordsScored = batchUsed ? counts.Scored : null,
                BatchRecordsFailed = batchUsed ? counts.Failed : null,
                BatchFilesIncomplete = batchUsed ? counts.Incomplete : null,
            }, DateTimeOffset.UtcNow);
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _services.Dispose();
    }

    private static void Write<T>(IBufferWriter<byte> response, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        using var writer = new Utf8JsonWriter(response);
        JsonSerializer.Serialize(writer, value, type);
    }
}
