using System.Text.Json;
using Google.Protobuf;
using Microsoft.Azure.Functions.Worker.Grpc.Messages;

namespace Serverless.Azure.Tests.EndToEnd;

/// <summary>
/// The start-up conversation the Functions host has with a worker, in the host's order: StartStream from the
/// worker, WorkerInitRequest, FunctionsMetadataRequest, then a FunctionLoadRequest per function with the
/// bindings parsed from the worker's raw_bindings (as the host does). Then invocations: HTTP ones go both as an
/// InvocationRequest and as the proxied HTTP request to the worker's HttpUri with x-ms-invocation-id.
/// </summary>
public sealed class WorkerSession
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private WorkerSession(WorkerStream stream, StartStream start, WorkerInitResponse init, FunctionMetadataResponse metadata)
    {
        Stream = stream;
        Start = start;
        Init = init;
        Metadata = metadata;
    }

    public WorkerStream Stream { get; }

    public StartStream Start { get; }

    public WorkerInitResponse Init { get; }

    public FunctionMetadataResponse Metadata { get; }

    /// <summary>Where the worker's own Kestrel takes proxied HTTP requests (the HttpUri capability).</summary>
    public Uri HttpUri => new(Init.Capabilities["HttpUri"]);

    public string FunctionId(string name) => Metadata.FunctionMetadataResults.Single(f => f.Name == name).FunctionId;

    public static async Task<WorkerSession> OpenAsync(FunctionsHostRpc host, string app)
    {
        var stream = await host.AcceptAsync(Timeout);
        var start = (await stream.ReceiveAsync(StreamingMessage.ContentOneofCase.StartStream, Timeout)).StartStream;

        await stream.SendAsync(new StreamingMessage
        {
            RequestId = Guid.NewGuid().ToString(),
            WorkerInitRequest = new WorkerInitRequest { HostVersion = "4.1044.0", WorkerDirectory = app, FunctionAppDirectory = app },
        });
        var init = (await stream.ReceiveAsync(StreamingMessage.ContentOneofCase.WorkerInitResponse, Timeout)).WorkerInitResponse;

        await stream.SendAsync(new StreamingMessage
        {
            RequestId = Guid.NewGuid().ToString(),
            FunctionsMetadataRequest = new FunctionsMetadataRequest { FunctionAppDirectory = app },
        });
        var metadata = (await stream.ReceiveAsync(StreamingMessage.ContentOneofCase.FunctionMetadataResponse, Timeout)).FunctionMetadataResponse;
        return new WorkerSession(stream, start, init, metadata);
    }

    /// <summary>Loads every function the worker reported; returns the load responses.</summary>
    public async Task<IReadOnlyList<FunctionLoadResponse>> LoadAllAsync()
    {
        var responses = new List<FunctionLoadResponse>();
        foreach (var function in Metadata.FunctionMetadataResults)
        {
            var metadata = function.Clone();
            foreach (var raw in function.RawBindings)
            {
                var (name, binding) = ParseBinding(raw);
                metadata.Bindings[name] = binding;
            }

            await Stream.SendAsync(new StreamingMessage
            {
                RequestId = Guid.NewGuid().ToString(),
                FunctionLoadRequest = new FunctionLoadRequest { FunctionId = function.FunctionId, Metadata = metadata },
            });
            var id = function.FunctionId;
            responses.Add((await Stream.ReceiveAsync(StreamingMessage.ContentOneofCase.FunctionLoadResponse, Timeout, m => m.FunctionLoadResponse.FunctionId == id)).FunctionLoadResponse);
        }

        return responses;
    }

    /// <summary>
    /// One HTTP invocation as the host makes it with ASP.NET Core integration: the InvocationRequest (with the
    /// request's RpcHttp) and the request itself, proxied to the worker's HttpUri, correlated by x-ms-invocation-id.
    /// </summary>
    public async Task<(HttpResponseMessage Http, InvocationResponse Invocation)> InvokeHttpAsync(HttpClient client, string function, HttpMethod method, string pathAndQuery, HttpContent? content)
    {
        var invocationId = Guid.NewGuid().ToString();
        var url = new Uri(HttpUri, pathAndQuery.TrimStart('/'));
        var rpcHttp = new RpcHttp { Method = method.Method, Url = url.AbsoluteUri };
        if (content?.Headers.ContentType is { } type)
        {
            rpcHttp.Headers["content-type"] = type.ToString();
        }

        var request = NewInvocation(invocationId, function);
        request.InputData.Add(new ParameterBinding { Name = "request", Data = new TypedData { Http = rpcHttp } });
        await Stream.SendAsync(new StreamingMessage { RequestId = Guid.NewGuid().ToString(), InvocationRequest = request });

        // The worker announces HttpUri before its Kestrel listens; like the host's proxy, retry a refused connection.
        var bytes = content is null ? null : await content.ReadAsByteArrayAsync();
        HttpResponseMessage http;
        for (var attempt = 1; ; attempt++)
        {
            using var message = new HttpRequestMessage(method, url);
            if (bytes is not null)
            {
                message.Content = new ByteArrayContent(bytes);
                message.Content.Headers.ContentType = content!.Headers.ContentType;
            }

            message.Headers.Add("x-ms-invocation-id", invocationId);
            try
            {
                http = await client.SendAsync(message);
                break;
            }
            catch (HttpRequestException ex) when (ex.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused } && attempt < 500)
            {
                await Task.Delay(10);
            }
        }

        var invocation = (await Stream.ReceiveAsync(StreamingMessage.ContentOneofCase.InvocationResponse, Timeout, m => m.InvocationResponse.InvocationId == invocationId)).InvocationResponse;
        return (http, invocation);
    }

    /// <summary>One Blob-trigger invocation as the host makes it for an SDK-type parameter: ModelBindingData naming the blob.</summary>
    public async Task<InvocationResponse> InvokeBlobAsync(string function, string connection, string container, string blobName, string triggerName)
    {
        var invocationId = Guid.NewGuid().ToString();
        var content = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["Connection"] = connection, ["ContainerName"] = container, ["BlobName"] = blobName });
        var request = NewInvocation(invocationId, function);
        request.InputData.Add(new ParameterBinding
        {
            Name = "blob",
            Data = new TypedData
            {
                ModelBindingData = new ModelBindingData { Version = "1.0", Source = "AzureStorageBlobs", ContentType = "application/json", Content = ByteString.CopyFrom(content) },
            },
        });
        request.TriggerMetadata["name"] = new TypedData { String = triggerName };
        request.TriggerMetadata["BlobTrigger"] = new TypedData { String = $"{container}/{blobName}" };
        await Stream.SendAsync(new StreamingMessage { RequestId = Guid.NewGuid().ToString(), InvocationRequest = request });
        return (await Stream.ReceiveAsync(StreamingMessage.ContentOneofCase.InvocationResponse, Timeout, m => m.InvocationResponse.InvocationId == invocationId)).InvocationResponse;
    }

    /// <summary>An invocation with the W3C trace context the host always sends.</summary>
    private InvocationRequest NewInvocation(string invocationId, string function) => new()
    {
        InvocationId = invocationId,
        FunctionId = FunctionId(function),
        TraceContext = new RpcTraceContext { TraceParent = $"00-{Guid.NewGuid():N}-{Guid.NewGuid().ToString("N")[..16]}-01", TraceState = string.Empty },
        RetryContext = new RetryContext { RetryCount = 0, MaxRetryCount = 0 },
    };

    /// <summary>A raw binding from functions.metadata ({"name", "type", "direction", ...}) as the host's BindingInfo.</summary>
    private static (string Name, BindingInfo Binding) ParseBinding(string raw)
    {
        using var doc = JsonDocument.Parse(raw);
        string? name = null;
        var binding = new BindingInfo();
        foreach (var property in doc.RootElement.EnumerateObject())
        {
            switch (property.Name.ToLowerInvariant())
            {
                case "name":
                    name = property.Value.GetString();
                    break;
                case "type":
                    binding.Type = property.Value.GetString();
                    break;
                case "direction":
                    binding.Direction = property.Value.GetString()!.ToLowerInvariant() switch
                    {
                        "out" => BindingInfo.Types.Direction.Out,
                        "inout" => BindingInfo.Types.Direction.Inout,
                        _ => BindingInfo.Types.Direction.In,
                    };
                    break;
                case "datatype":
                    binding.DataType = Enum.Parse<BindingInfo.Types.DataType>(property.Value.GetString()!, ignoreCase: true);
                    break;
                case "properties" when property.Value.ValueKind == JsonValueKind.Object:
                    foreach (var p in property.Value.EnumerateObject())
                    {
                        binding.Properties[p.Name] = p.Value.ToString();
                    }

                    break;
            }
        }

        return (name ?? throw new InvalidOperationException($"A raw binding without a name: {raw}"), binding);
    }
}
