using System.Text;
using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Models;
using Serverless.Core.Protocol;
using Serverless.Core.Tensors;

namespace Serverless.Core.Tests.Protocol;

/// <summary>
/// A session that returns copies of its inputs as outputs: output i echoes input i (same type, shape and
/// elements), so round trips through the protocol can be checked element by element.
/// </summary>
internal sealed class EchoSession : IInferenceSession
{
    public EchoSession(params (string Name, TensorElementType Type, long[] Shape)[] tensors)
    {
        Inputs = tensors.Select(t => new TensorSpec(t.Name, t.Type, t.Shape)).ToArray();
        Outputs = tensors.Select(t => new TensorSpec(t.Name + "_out", t.Type, t.Shape)).ToArray();
    }

    public IReadOnlyList<TensorSpec> Inputs { get; }

    public IReadOnlyList<TensorSpec> Outputs { get; }

    public string ExecutionProvider => "Echo";

    public int Runs { get; private set; }

    public void Run(ReadOnlySpan<HostTensor> inputs, ReadOnlySpan<int> outputIndices, Span<IOutputTensor?> results, CancellationToken cancellationToken = default)
    {
        Runs++;
        for (var i = 0; i < outputIndices.Length; i++)
        {
            var source = inputs[outputIndices[i]];
            var copy = new HostTensor();
            copy.Initialize(Outputs[outputIndices[i]].Name, source.ElementType, source.Shape);
            if (source.ElementType == TensorElementType.String)
            {
                for (long e = 0; e < source.ElementCount; e++)
                {
                    copy.AppendString(source.GetStringBytes(e));
                }
            }
            else
            {
                source.Data.CopyTo(copy.Data);
            }

            results[i] = copy;
        }
    }

    public void Dispose()
    {
    }
}

/// <summary>A repository over fixed sessions, with settable states, that records load and unload calls.</summary>
internal sealed class FakeModelRepository : IModelRepository
{
    private readonly Dictionary<string, (ModelManifest Manifest, IInferenceSession Session)> _models = new();

    public Dictionary<string, ModelStatus> States { get; } = new();

    public List<string> Calls { get; } = new();

    public Exception? AcquireFailure { get; set; }

    public IReadOnlyList<ModelManifest> Manifests => _models.Values.Select(m => m.Manifest).ToList();

    public FakeModelRepository Add(string name, IInferenceSession session, bool declareTensors = true, params string[] versions)
    {
        versions = versions.Length == 0 ? ["1"] : versions;
        var manifest = new ModelManifest
        {
            Name = name,
            DefaultVersion = versions[0],
            Versions = versions.Select(v => new ModelVersionManifest { Version = v, Artifact = $"{name}/{v}/model.onnx", Sha256 = new string('0', 64), Size = 1 }).ToList(),
            Inputs = declareTensors ? session.Inputs.Select(ToManifest).ToList() : [],
            Outputs = declareTensors ? session.Outputs.Select(ToManifest).ToList() : [],
        };
        _models[name] = (manifest, session);
        return this;
    }

    public ModelManifest? Find(string name) => _models.TryGetValue(name, out var m) ? m.Manifest : null;

    public ModelStatus GetStatus(string name, string? version = null)
    {
        var v = version ?? Find(name)?.DefaultVersion ?? "1";
        return States.TryGetValue(name, out var s) ? s with { Version = v } : new ModelStatus(name, v, ModelState.Ready);
    }

    public Task<ModelStatus> CheckAsync(string name, string? version, CancellationToken cancellationToken)
    {
        Calls.Add($"check {name} {version}");
        return Task.FromResult(GetStatus(name, version));
    }

    public ValueTask<ModelLease> AcquireAsync(string name, string? version, CancellationToken cancellationToken)
    {
        Calls.Add($"acquire {name} {version}");
        if (AcquireFailure is not null)
        {
            throw AcquireFailure;
        }

        if (!_models.TryGetValue(name, out var m))
        {
            throw InferenceException.NotFound($"Unknown model '{name}'.", name);
        }

        var v = m.Manifest.FindVersion(version) ?? throw InferenceException.NotFound($"No version '{version}'.", name);
        return ValueTask.FromResult(new ModelLease(m.Manifest, v, m.Session, null));
    }

    public Task LoadAsync(string name, CancellationToken cancellationToken)
    {
        Calls.Add($"load {name}");
        return Task.CompletedTask;
    }

    public Task UnloadAsync(string name, CancellationToken cancellationToken)
    {
        Calls.Add($"unload {name}");
        return Task.CompletedTask;
    }

    private static TensorManifest ToManifest(TensorSpec spec) =>
        new() { Name = spec.Name, Datatype = spec.ElementType.ToProtocolName()!, Shape = spec.Shape };
}

/// <summary>What the handler answered, decoded for assertions.</summary>
internal sealed record ProtocolReply(int Status, string ContentType, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public string Text => Encoding.UTF8.GetString(Body);

    public string? Header(string name) => Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>The JSON part: all of the body, or its first Inference-Header-Content-Length bytes.</summary>
    public System.Text.Json.JsonDocument Json
    {
        get
        {
            var length = Header(ProtocolContentTypes.InferenceHeaderContentLength) is { } h ? int.Parse(h) : Body.Length;
            return System.Text.Json.JsonDocument.Parse(Body.AsMemory(0, length));
        }
    }

    public byte[] Binary => Header(ProtocolContentTypes.InferenceHeaderContentLength) is { } h ? Body[int.Parse(h)..] : [];

    public string Error => Json.RootElement.GetProperty("error").GetString()!;
}

internal static class ProtocolTestClient
{
    public static FakeModelRepository EchoRepository() => new FakeModelRepository()
        .Add("echo", new EchoSession(("x", TensorElementType.Float, [-1, 3]), ("ids", TensorElementType.Int64, [-1])), true, "1", "2");

    public static async Task<ProtocolReply> SendAsync(this ProtocolHandler handler, string method, string path, byte[]? body = null, string? contentType = null, string? headerLength = null)
    {
        var request = ProtocolRequest.FromBytes(method, path, body ?? [], contentType, headerLength);
        using var response = new BufferedProtocolResponse();
        await handler.HandleAsync(request, response);
        return new ProtocolReply(response.StatusCode, response.ContentType, response.Headers.ToList(), response.BodyMemory.ToArray());
    }

    public static Task<ProtocolReply> SendJsonAsync(this ProtocolHandler handler, string path, string json) =>
        handler.SendAsync("POST", path, Encoding.UTF8.GetBytes(json), "application/json");

    /// <summary>Sends a JSON header followed by binary tensor data, with Inference-Header-Content-Length.</summary>
    public static Task<ProtocolReply> SendBinaryAsync(this ProtocolHandler handler, string path, string json, params byte[][] segments)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var body = header.Concat(segments.SelectMany(s => s)).ToArray();
        return handler.SendAsync("POST", path, body, "application/octet-stream", header.Length.ToString());
    }
}
