using System.Globalization;
using System.Text.Json;
using Serverless.Core.Errors;
using Serverless.Core.Models;

namespace Serverless.Core.Protocol;

/// <summary>
/// The Open Inference Protocol (KServe v2) REST API with the binary tensor data and model repository
/// extensions, independent of any transport: adapters (Kestrel, Lambda, Azure custom handler, GPU server)
/// build a <see cref="ProtocolRequest"/>, call <see cref="HandleAsync"/> and send what was written to the
/// <see cref="IProtocolResponse"/>. Every failure becomes <c>{"error": "..."}</c> with the status of its
/// <see cref="ErrorCode"/>; bad input is always a 4xx, and an unexpected exception is a 500 with a generic
/// message (reported to <see cref="ProtocolOptions.OnUnexpectedError"/>), never a crash.
/// Readiness: <c>/v2/models/{m}/ready</c> answers 200 with <c>"ready": true</c> when the model can be served
/// (its artifact present and verified; loaded too for a MODEL_PRELOAD model), and 503 with <c>"ready": false</c>,
/// the state and the reason otherwise; checking verifies an unchecked artifact but never creates a session.
/// <c>/v2/health/ready</c> is 200 exactly when every served model's default version is ready, so the two agree,
/// and probes and load balancers can act on the status alone.
/// </summary>
public sealed class ProtocolHandler
{
    private const long SmallBodyLimit = 64 * 1024;

    private readonly IModelRepository _repository;
    private readonly ProtocolOptions _options;
    private readonly InferRunner _runner;

    public ProtocolHandler(IModelRepository repository, ProtocolOptions? options = null, HostTensorPool? tensors = null)
    {
        ArgumentNullException.ThrowIfNull(repository);
        _repository = repository;
        _options = options ?? new ProtocolOptions();
        _runner = new InferRunner(_options, tensors);
    }

    public ProtocolOptions Options => _options;

    /// <summary>The infer path without HTTP, sharing this handler's pools and limits (for batch scoring).</summary>
    public InferRunner Runner => _runner;

    /// <summary>
    /// Handles one request. Throws only <see cref="OperationCanceledException"/> when
    /// <paramref name="cancellationToken"/> is cancelled (the caller went away); everything else is written
    /// to <paramref name="response"/>.
    /// </summary>
    public async Task HandleAsync(ProtocolRequest request, IProtocolResponse response, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(response);
        try
        {
            await DispatchAsync(request, response, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (InferenceException ex)
        {
            WriteError(response, ex.HttpStatus, ex.Message, ex.RetryAfterSeconds);
        }
#pragma warning disable CA1031 // The protocol edge must turn any bug into a 500 rather than crash the host.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _options.OnUnexpectedError?.Invoke(ex);
            WriteError(response, 500, "Internal server error while handling the request; the server log has the details.", null);
        }
    }

    private async Task DispatchAsync(ProtocolRequest request, IProtocolResponse response, CancellationToken cancellationToken)
    {
        var route = ProtocolRoute.Parse(request.Path);
        if (route.Kind == RouteKind.NotFound)
        {
            throw InferenceException.NotFound($"No protocol endpoint at '{request.Path}'. Endpoints: GET /v2, /v2/health/live, /v2/health/ready, /v2/models/{{model}}[/versions/{{version}}][/ready]; POST /v2/models/{{model}}[/versions/{{version}}]/infer, /v2/repository/index, /v2/repository/models/{{model}}/load|unload.");
        }

        if (!string.Equals(request.Method, route.Method, StringComparison.OrdinalIgnoreCase))
        {
            WriteError(response, ErrorCode.MethodNotAllowed.ToHttpStatus(), $"{request.Method} is not allowed on '{request.Path}'; use {route.Method}.", null);
            response.SetHeader("Allow", route.Method);
            return;
        }

        response.StatusCode = 200;
        response.ContentType = ProtocolContentTypes.Json;
        switch (route.Kind)
        {
            case RouteKind.ServerMetadata:
                ModelMetadataWriter.WriteServerMetadata(response.Body, _options);
                break;
            case RouteKind.ServerLive:
                ModelMetadataWriter.WriteLive(response.Body);
                break;
            case RouteKind.ServerReady:
                await WriteServerReadyAsync(response, cancellationToken).ConfigureAwait(false);
                break;
            case RouteKind.ModelMetadata:
                await WriteModelMetadataAsync(route, response, cancellationToken).ConfigureAwait(false);
                break;
            case RouteKind.ModelReady:
                await WriteModelReadyAsync(route, response, cancellationToken).ConfigureAwait(false);
                break;
            case RouteKind.ModelInfer:
                await InferAsync(route, request, response, cancellationToken).ConfigureAwait(false);
                break;
            case RouteKind.RepositoryIndex:
                await WriteIndexAsync(request, response, cancellationToken).ConfigureAwait(false);
                break;
            case RouteKind.RepositoryLoad:
                FindManifest(route.Model!, null);
                await _repository.LoadAsync(route.Model!, cancellationToken).ConfigureAwait(false);
                ModelMetadataWriter.WriteEmptyObject(response.Body);
                break;
            case RouteKind.RepositoryUnload:
                FindManifest(route.Model!, null);
                await _repository.UnloadAsync(route.Model!, cancellationToken).ConfigureAwait(false);
                ModelMetadataWriter.WriteEmptyObject(response.Body);
                break;
        }
    }

    private async Task InferAsync(ProtocolRoute route, ProtocolRequest request, IProtocolResponse response, CancellationToken cancellationToken)
    {
        var manifest = FindManifest(route.Model!, route.Version);
        if (request.ContentType is { } contentType && contentType.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase))
        {
            throw new InferenceException(ErrorCode.UnsupportedMediaType, $"Content-Type '{contentType}' is not supported; send the infer request JSON as the body (application/json), optionally followed by binary tensor data (application/octet-stream with Inference-Header-Content-Length).") { Model = manifest.Name };
        }

        long? headerLength = null;
        if (request.InferenceHeaderContentLength is { } headerText)
        {
            if (!long.TryParse(headerText.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                throw InferenceException.BadInput($"Model '{manifest.Name}': Inference-Header-Content-Length '{headerText}' is not a non-negative integer; set it to the byte length of the JSON header (0 for a raw binary body).", manifest.Name);
            }

            headerLength = parsed;
        }

        // Start (or join) the model's load before reading the body, so that on a cold start the body's transfer and the
        // load overlap. A declared size over the limit is refused first, so it starts no load; the body's other errors
        // still come before the load's; a lease acquired for a request that then fails is released.
        RequestBodyReader.ThrowIfDeclaredTooLarge(request.ContentLength, _options.MaxRequestBytes);
        ValueTask<ModelLease> acquiring;
        try
        {
            acquiring = _repository.AcquireAsync(manifest.Name, route.Version, cancellationToken);
        }
#pragma warning disable CA1031 // Held and rethrown by the await below, after the body (as when the two ran in order).
        catch (Exception e)
#pragma warning restore CA1031
        {
            acquiring = ValueTask.FromException<ModelLease>(e);
        }

        RequestBodyReader body;
        try
        {
            body = await RequestBodyReader.ReadAsync(request.Body, request.ContentLength, _options.MaxRequestBytes, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _ = ReleaseWhenAcquiredAsync(acquiring);
            throw;
        }

        using var bodyScope = body;
        using var lease = await acquiring.ConfigureAwait(false);
        var result = _runner.Infer(lease.Session, manifest.Name, lease.Version.Version, body.Span, headerLength, response.Body, cancellationToken);
        response.StatusCode = 200;
        if (result.HasBinary)
        {
            response.ContentType = ProtocolContentTypes.OctetStream;
            response.SetHeader(ProtocolContentTypes.InferenceHeaderContentLength, result.JsonLength.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            response.ContentType = ProtocolContentTypes.Json;
        }
    }

    /// <summary>Disposes the lease of an acquisition nobody else will await (its request failed first), whenever it completes.</summary>
    private static async Task ReleaseWhenAcquiredAsync(ValueTask<ModelLease> acquiring)
    {
        try
        {
            (await acquiring.ConfigureAwait(false)).Dispose();
        }
#pragma warning disable CA1031 // The request already failed with its own error; the load's outcome is the registry's to report.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private async Task WriteModelMetadataAsync(ProtocolRoute route, IProtocolResponse response, CancellationToken cancellationToken)
    {
        var manifest = FindManifest(route.Model!, route.Version);
        if (manifest.Inputs.Count > 0 && manifest.Outputs.Count > 0)
        {
            ModelMetadataWriter.WriteModelMetadata(response.Body, manifest, route.Version, null, null);
            return;
        }

        // The manifest does not declare its tensors: ask the session (this loads the model).
        using var lease = await _repository.AcquireAsync(manifest.Name, route.Version, cancellationToken).ConfigureAwait(false);
        ModelMetadataWriter.WriteModelMetadata(response.Body, manifest, route.Version, lease.Session.Inputs, lease.Session.Outputs);
    }

    private async Task WriteServerReadyAsync(IProtocolResponse response, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> served = _options.ServedModel is { } one ? [one] : [.. _repository.Manifests.Select(m => m.Name)];
        var statuses = await Task.WhenAll(served.Select(name => _repository.CheckAsync(name, null, cancellationToken))).ConfigureAwait(false);
        foreach (var status in statuses)
        {
            if (status.State != ModelState.Ready)
            {
                response.StatusCode = 503;
                var reason = status.Reason is null ? string.Empty : $": {status.Reason}";
                ModelMetadataWriter.WriteReadiness(response.Body, null, null, false, null, $"Model '{status.Name}' version {status.Version} is {status.StateText}{reason}.");
                return;
            }
        }

        ModelMetadataWriter.WriteReadiness(response.Body, null, null, true, null, null);
    }

    private async Task WriteModelReadyAsync(ProtocolRoute route, IProtocolResponse response, CancellationToken cancellationToken)
    {
        var manifest = FindManifest(route.Model!, route.Version);
        var status = await _repository.CheckAsync(manifest.Name, route.Version, cancellationToken).ConfigureAwait(false);
        var ready = status.State == ModelState.Ready;
        response.StatusCode = ready ? 200 : 503;
        var error = ready ? null : $"Model '{manifest.Name}' version {status.Version} is {status.StateText}{(status.Reason is null ? string.Empty : ": " + status.Reason)}.";
        ModelMetadataWriter.WriteReadiness(response.Body, manifest.Name, status.Version, ready, status, error);
    }

    private async Task WriteIndexAsync(ProtocolRequest request, IProtocolResponse response, CancellationToken cancellationToken)
    {
        var readyOnly = false;
        using (var body = await RequestBodyReader.ReadAsync(request.Body, request.ContentLength, SmallBodyLimit, cancellationToken).ConfigureAwait(false))
        {
            readyOnly = ReadIndexFilter(body.Span);
        }

        var statuses = new List<ModelStatus>();
        foreach (var manifest in _repository.Manifests)
        {
            if (_options.ServedModel is { } served && manifest.Name != served)
            {
                continue;
            }

            foreach (var version in manifest.Versions)
            {
                var status = _repository.GetStatus(manifest.Name, version.Version);
                if (!readyOnly || status.State == ModelState.Ready)
                {
                    statuses.Add(status);
                }
            }
        }

        ModelMetadataWriter.WriteRepositoryIndex(response.Body, statuses);
    }

    // The index request body is optional: {} or {"ready": true} to list only ready models.
    private static bool ReadIndexFilter(ReadOnlySpan<byte> body)
    {
        if (body.Trim(" \t\r\n"u8).IsEmpty)
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw InferenceException.BadInput("The repository index request body must be a JSON object, e.g. {} or {\"ready\": true}.");
            }

            var ready = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isReady = reader.ValueTextEquals("ready"u8);
                reader.Read();
                if (isReady)
                {
                    ready = reader.TokenType switch
                    {
                        JsonTokenType.True => true,
                        JsonTokenType.False => false,
                        _ => throw InferenceException.BadInput("'ready' in the repository index request must be true or false."),
                    };
                }
                else
                {
                    reader.Skip();
                }
            }

            reader.Read();
            return ready;
        }
        catch (JsonException ex)
        {
            throw InferenceException.BadInput($"The repository index request body is not valid JSON: {ex.Message}");
        }
    }

    private ModelManifest FindManifest(string name, string? version)
    {
        if (_options.ServedModel is { } served && !string.Equals(name, served, StringComparison.Ordinal))
        {
            throw InferenceException.NotFound($"Model '{name}' is not served here: this function serves model '{served}' only. Call /v2/models/{served}/... or the function that serves '{name}'.", name);
        }

        var manifest = _repository.Find(name) ?? throw InferenceException.NotFound(
            $"Unknown model '{name}'. Models served here: {string.Join(", ", _repository.Manifests.Select(m => m.Name))}.", name);
        if (version is not null && manifest.FindVersion(version) is null)
        {
            throw InferenceException.NotFound($"Model '{name}' has no version '{version}'. Its versions: {string.Join(", ", manifest.Versions.Select(v => v.Version))}.", name);
        }

        return manifest;
    }

    private static void WriteError(IProtocolResponse response, int status, string message, int? retryAfterSeconds)
    {
        response.Clear();
        response.StatusCode = status;
        response.ContentType = ProtocolContentTypes.Json;

        if (retryAfterSeconds is { } seconds)
        {
            response.SetHeader(ProtocolContentTypes.RetryAfter, seconds.ToString(CultureInfo.InvariantCulture));
        }

        ModelMetadataWriter.WriteError(response.Body, message);
    }
}
