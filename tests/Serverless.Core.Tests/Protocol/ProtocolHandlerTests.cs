using System.Text;
using Serverless.Core.Inference;
using Serverless.Core.Errors;
using Serverless.Core.Models;
using Serverless.Core.Protocol;
using Serverless.Core.Tensors;

namespace Serverless.Core.Tests.Protocol;

public class ProtocolHandlerTests
{
    private readonly FakeModelRepository _repository = ProtocolTestClient.EchoRepository();

    private ProtocolHandler Handler(ProtocolOptions? options = null) => new(_repository, options);

    [Fact]
    public async Task Live_AnswersOkWithLiveTrue()
    {
        var reply = await Handler().SendAsync("GET", "/v2/health/live");
        Assert.Equal(200, reply.Status);
        Assert.True(reply.Json.RootElement.GetProperty("live").GetBoolean());
    }

    [Fact]
    public async Task ServerMetadata_ListsNameVersionAndExtensions()
    {
        var reply = await Handler(new ProtocolOptions { ServerName = "srv", ServerVersion = "9.9" }).SendAsync("GET", "/v2");
        var root = reply.Json.RootElement;
        Assert.Equal("srv", root.GetProperty("name").GetString());
        Assert.Equal("9.9", root.GetProperty("version").GetString());
        var extensions = root.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("binary_tensor_data", extensions);
        Assert.Contains("model_repository", extensions);
    }

    [Fact]
    public async Task Ready_WhenARequiredModelIsLoading_IsServiceUnavailableNamingIt()
    {
        _repository.States["echo"] = new ModelStatus("echo", "1", ModelState.Loading, "downloading");
        var reply = await Handler(new ProtocolOptions { ServedModel = "echo" }).SendAsync("GET", "/v2/health/ready");
        Assert.Equal(503, reply.Status);
        Assert.False(reply.Json.RootElement.GetProperty("ready").GetBoolean());
        Assert.Contains("'echo' version 1 is LOADING: downloading", reply.Error);
    }

    [Fact]
    public async Task Ready_WhenEveryServedModelIsReady_IsOkAfterCheckingEachOne()
    {
        var reply = await Handler().SendAsync("GET", "/v2/health/ready");
        Assert.Equal(200, reply.Status);
        Assert.True(reply.Json.RootElement.GetProperty("ready").GetBoolean());
        Assert.Equal(["check echo "], _repository.Calls);
    }

    [Fact]
    public async Task Ready_WhenAnyServedModelIsNotReady_IsServiceUnavailableNamingIt()
    {
        _repository.States["echo"] = new ModelStatus("echo", "1", ModelState.Failed, "artifact missing");
        var reply = await Handler().SendAsync("GET", "/v2/health/ready");
        Assert.Equal(503, reply.Status);
        Assert.Contains("'echo' version 1 is FAILED: artifact missing", reply.Error);
    }

    [Fact]
    public async Task ModelMetadata_ComesFromTheManifest()
    {
        var reply = await Handler().SendAsync("GET", "/v2/models/echo");
        Assert.Equal(200, reply.Status);
        var root = reply.Json.RootElement;
        Assert.Equal("echo", root.GetProperty("name").GetString());
        Assert.Equal("[\"1\",\"2\"]", root.GetProperty("versions").GetRawText());
        Assert.Equal("onnxruntime_onnx", root.GetProperty("platform").GetString());
        var x = root.GetProperty("inputs")[0];
        Assert.Equal("x", x.GetProperty("name").GetString());
        Assert.Equal("FP32", x.GetProperty("datatype").GetString());
        Assert.Equal("[-1,3]", x.GetProperty("shape").GetRawText());
        Assert.Equal("ids_out", root.GetProperty("outputs")[1].GetProperty("name").GetString());
    }

    [Fact]
    public async Task ModelMetadata_WithoutDeclaredTensors_AsksTheSession()
    {
        var repository = new FakeModelRepository().Add("bare", new EchoSession(("a", TensorElementType.UInt8, [2])), declareTensors: false);
        var reply = await new ProtocolHandler(repository).SendAsync("GET", "/v2/models/bare/versions/1");
        var input = reply.Json.RootElement.GetProperty("inputs")[0];
        Assert.Equal("UINT8", input.GetProperty("datatype").GetString());
        Assert.Equal("[\"1\"]", reply.Json.RootElement.GetProperty("versions").GetRawText());
    }

    [Fact]
    public async Task ModelReady_ReflectsTheRepositoryState()
    {
        var ok = await Handler().SendAsync("GET", "/v2/models/echo/versions/2/ready");
        Assert.Equal(200, ok.Status);
        Assert.Equal("2", ok.Json.RootElement.GetProperty("version").GetString());

        _repository.States["echo"] = new ModelStatus("echo", "1", ModelState.Failed, "sha mismatch");
        var failed = await Handler().SendAsync("GET", "/v2/models/echo/ready");
        Assert.Equal(503, failed.Status);
        Assert.Equal("FAILED", failed.Json.RootElement.GetProperty("state").GetString());
        Assert.Contains("sha mismatch", failed.Error);
    }

    [Fact]
    public async Task RepositoryIndex_ListsEveryVersionWithItsState()
    {
        var reply = await Handler().SendAsync("POST", "/v2/repository/index");
        Assert.Equal(200, reply.Status);
        var entries = reply.Json.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, entries.Count);
        Assert.Equal("echo", entries[0].GetProperty("name").GetString());
        Assert.Equal("READY", entries[0].GetProperty("state").GetString());
        Assert.Equal("2", entries[1].GetProperty("version").GetString());
    }

    [Fact]
    public async Task RepositoryIndex_WithReadyFilter_LeavesOutModelsNotReady()
    {
        _repository.States["echo"] = new ModelStatus("echo", "1", ModelState.Unavailable);
        var reply = await Handler().SendAsync("POST", "/v2/repository/index", Encoding.UTF8.GetBytes("{\"ready\":true}"));
        Assert.Equal("[]", reply.Text);
    }

    [Fact]
    public async Task RepositoryIndex_WithBadBody_IsBadRequest()
    {
        var reply = await Handler().SendAsync("POST", "/v2/repository/index", Encoding.UTF8.GetBytes("{\"ready\":"));
        Assert.Equal(400, reply.Status);
        Assert.Contains("not valid JSON", reply.Error);
    }

    [Fact]
    public async Task LoadAndUnload_CallTheRepository()
    {
        var load = await Handler().SendAsync("POST", "/v2/repository/models/echo/load");
        var unload = await Handler().SendAsync("POST", "/v2/repository/models/echo/unload");
        Assert.Equal(200, load.Status);
        Assert.Equal(200, unload.Status);
        Assert.Equal(["load echo", "unload echo"], _repository.Calls);
    }

    [Theory]
    [InlineData("GET", "/v2/models/nope", "Unknown model 'nope'. Models served here: echo")]
    [InlineData("POST", "/v2/models/nope/infer", "Unknown model 'nope'")]
    [InlineData("POST", "/v2/repository/models/nope/load", "Unknown model 'nope'")]
    [InlineData("GET", "/v2/models/echo/versions/7", "Model 'echo' has no version '7'. Its versions: 1, 2")]
    [InlineData("POST", "/v2/models/echo/versions/7/infer", "has no version '7'")]
    [InlineData("GET", "/v3/health/live", "No protocol endpoint at '/v3/health/live'")]
    [InlineData("GET", "/v2/models/echo/explain", "No protocol endpoint")]
    [InlineData("GET", "/v2/health", "No protocol endpoint")]
    public async Task UnknownModelVersionOrRoute_IsNotFoundWithAClearMessage(string method, string path, string messagePart)
    {
        var reply = await Handler().SendAsync(method, path, Encoding.UTF8.GetBytes(InferJsonTests.TwoInputs()));
        Assert.Equal(404, reply.Status);
        Assert.Contains(messagePart, reply.Error);
    }

    [Theory]
    [InlineData("/v2/models/../echo/infer")]
    [InlineData("/v2/models/%2e%2e/infer")]
    [InlineData("/v2/models/echo%2Fx/infer")]
    [InlineData("/v2/models/ec\u0001ho/infer")]
    [InlineData("/v2/models/ec\\ho/infer")]
    [InlineData("/v2/models//infer")]
    [InlineData("/v2/models/echo/versions/../infer")]
    [InlineData("/v2/models/echo:1/infer")]
    public async Task PathTricks_AreBadRequestsBeforeAnyLookup(string path)
    {
        var reply = await Handler().SendAsync("POST", path, Encoding.UTF8.GetBytes(InferJsonTests.TwoInputs()));
        Assert.Equal(400, reply.Status);
        Assert.DoesNotContain('\u0001', reply.Error);
        Assert.Empty(_repository.Calls);
    }

    [Theory]
    [InlineData("POST", "/v2/health/live", "GET")]
    [InlineData("GET", "/v2/models/echo/infer", "POST")]
    [InlineData("DELETE", "/v2/models/echo", "GET")]
    [InlineData("GET", "/v2/repository/index", "POST")]
    public async Task WrongMethod_IsMethodNotAllowedWithAllowHeader(string method, string path, string allowed)
    {
        var reply = await Handler().SendAsync(method, path);
        Assert.Equal(405, reply.Status);
        Assert.Equal(allowed, reply.Header("Allow"));
        Assert.Contains($"use {allowed}", reply.Error);
    }

    [Fact]
    public async Task ServedModelFilter_AnswersNotFoundNamingTheServedModel()
    {
        _repository.Add("other", new EchoSession(("a", TensorElementType.Float, [1])));
        var handler = Handler(new ProtocolOptions { ServedModel = "echo" });
        var reply = await handler.SendJsonAsync("/v2/models/other/infer", "{}");
        Assert.Equal(404, reply.Status);
        Assert.Contains("this function serves model 'echo' only", reply.Error);

        var index = await handler.SendAsync("POST", "/v2/repository/index");
        Assert.All(index.Json.RootElement.EnumerateArray(), e => Assert.Equal("echo", e.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task NotReadyModel_IsServiceUnavailableWithRetryAfter()
    {
        _repository.AcquireFailure = new InferenceException(ErrorCode.NotReady, "Model 'echo' is loading.") { RetryAfterSeconds = 3 };
        var reply = await Handler().SendJsonAsync("/v2/models/echo/infer", InferJsonTests.TwoInputs());
        Assert.Equal(503, reply.Status);
        Assert.Equal("3", reply.Header("Retry-After"));
    }

    [Fact]
    public async Task UnexpectedException_IsAGeneric500AndIsReportedToTheHost()
    {
        Exception? reported = null;
        _repository.AcquireFailure = new InvalidOperationException("secret internals");
        var reply = await Handler(new ProtocolOptions { OnUnexpectedError = e => reported = e }).SendJsonAsync("/v2/models/echo/infer", InferJsonTests.TwoInputs());
        Assert.Equal(500, reply.Status);
        Assert.DoesNotContain("secret", reply.Error);
        Assert.IsType<InvalidOperationException>(reported);
    }

    [Fact]
    public async Task Cancellation_PropagatesInsteadOfWritingAnError()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        var request = ProtocolRequest.FromBytes("POST", "/v2/models/echo/infer", Encoding.UTF8.GetBytes(InferJsonTests.TwoInputs()));
        using var response = new BufferedProtocolResponse();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Handler().HandleAsync(request, response, cts.Token));
    }

    [Fact]
    public async Task BodyOverTheLimit_IsRefusedWhileStreaming()
    {
        var handler = Handler(new ProtocolOptions { MaxRequestBytes = 10_000 });
        using var endless = new EndlessStream(failAfter: 100_000);
        var request = new ProtocolRequest("POST", "/v2/models/echo/infer", endless);
        using var response = new BufferedProtocolResponse();
        await handler.HandleAsync(request, response);

        var error = Encoding.UTF8.GetString(response.BodyMemory.Span);
        Assert.Equal(413, response.StatusCode);
        Assert.Contains("passed the limit of 10000 bytes", error);
        Assert.True(endless.Position <= 10_001, $"read {endless.Position} bytes");
    }

    [Fact]
    public async Task DeclaredContentLengthOverTheLimit_IsRefusedWithoutReading()
    {
        var handler = Handler(new ProtocolOptions { MaxRequestBytes = 10_000 });
        using var endless = new EndlessStream(failAfter: 0);
        var request = new ProtocolRequest("POST", "/v2/models/echo/infer", endless) { ContentLength = 20_000 };
        using var response = new BufferedProtocolResponse();
        await handler.HandleAsync(request, response);
        Assert.Equal(413, response.StatusCode);
        Assert.Equal(0, endless.Position);
    }

    [Fact]
    public async Task ResponseObject_CanBeReusedAcrossRequests()
    {
        var handler = Handler();
        using var response = new BufferedProtocolResponse();
        await handler.HandleAsync(ProtocolRequest.FromBytes("GET", "/v2/models/nope", default), response);
        Assert.Equal(404, response.StatusCode);
        response.Clear();
        await handler.HandleAsync(ProtocolRequest.FromBytes("GET", "/v2/health/live", default), response);
        Assert.Equal(200, response.StatusCode);
        Assert.Equal("{\"live\":true}", Encoding.UTF8.GetString(response.BodyMemory.Span));
    }

    /// <summary>A body that never ends, and fails the test if read past <c>failAfter</c> bytes.</summary>
    private sealed class EndlessStream(long failAfter) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position + count > failAfter && failAfter > 0 && _position > failAfter)
            {
                throw new InvalidOperationException("Read far past the limit.");
            }

            if (failAfter == 0)
            {
                throw new InvalidOperationException("Should not be read at all.");
            }

            buffer.AsSpan(offset, count).Fill((byte)' ');
            _position += count;
            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>
/// On a cold start the model's load and the request body's transfer overlap: the handler starts (or joins) the load
/// before it reads the body, and a request whose body then fails releases the lease it was given.
/// </summary>
public sealed class ProtocolHandlerColdStartTests
{
    [Fact]
    public async Task Infer_StartsTheModelLoadBeforeTheBodyHasArrived()
    {
        var source = new Serverless.Core.Tests.Models.Fakes.FakeArtifactSource();
        using var registry = new ModelRegistry([Serverless.Core.Tests.Models.Fakes.TestManifests.Create("m")], source, new EchoFactory());
        var body = new WaitingBody(Encoding.UTF8.GetBytes("{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,2,3]}]}"), () => source.Calls > 0);
        var request = new ProtocolRequest("POST", "/v2/models/m/infer", body) { ContentType = "application/json" };
        using var response = new BufferedProtocolResponse();

        await new ProtocolHandler(registry).HandleAsync(request, response);

        Assert.True(body.LoadHadStarted, "the body was read before the model's load began");
        Assert.Equal(200, response.StatusCode);
        Assert.Contains("\"data\":[1,2,3]", Encoding.UTF8.GetString(response.BodyMemory.Span), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_DeclaredSizeTooLarge_Is413WithoutStartingALoad()
    {
        var source = new Serverless.Core.Tests.Models.Fakes.FakeArtifactSource();
        using var registry = new ModelRegistry([Serverless.Core.Tests.Models.Fakes.TestManifests.Create("m")], source, new EchoFactory());
        var handler = new ProtocolHandler(registry, new ProtocolOptions { MaxRequestBytes = 16 });

        var reply = await handler.SendJsonAsync("/v2/models/m/infer", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,2,3]}]}");

        Assert.Equal(413, reply.Status);
        Assert.Equal(0, source.Calls);
        Assert.NotEqual(ModelState.Ready, registry.GetStatus("m").State);
    }

    [Fact]
    public async Task Infer_UndeclaredBodyTooLarge_ReleasesTheLeaseItWasGiven()
    {
        var source = new Serverless.Core.Tests.Models.Fakes.FakeArtifactSource();
        var factory = new EchoFactory();
        using var registry = new ModelRegistry([Serverless.Core.Tests.Models.Fakes.TestManifests.Create("m")], source, factory);
        var handler = new ProtocolHandler(registry, new ProtocolOptions { MaxRequestBytes = 16 });

        // No Content-Length (a chunked body): the size is only known while reading, so the load has started by then.
        var body = new MemoryStream(Encoding.UTF8.GetBytes("{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,2,3]}]}"));
        using var response = new BufferedProtocolResponse();
        await handler.HandleAsync(new ProtocolRequest("POST", "/v2/models/m/infer", body) { ContentType = "application/json" }, response);

        Assert.Equal(413, response.StatusCode);

        // The lease taken for the refused request is given back: unloading waits for no one.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (registry.GetStatus("m").State != ModelState.Ready && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(ModelState.Ready, registry.GetStatus("m").State);
        await registry.UnloadAsync("m", CancellationToken.None);

        // With no lease left, unloading disposes the session; a leaked lease would keep it alive. The release runs on
        // the load's thread once the load completes, so it may land just after the unload: wait for it.
        var session = Assert.Single(factory.Sessions);
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!session.Disposed && DateTime.UtcNow < until)
        {
            await Task.Delay(10);
        }

        Assert.True(session.Disposed, "the refused request's lease was never released");
    }

    private sealed class EchoFactory : IInferenceSessionFactory
    {
        public List<TrackedSession> Sessions { get; } = [];

        public IInferenceSession Create(string modelName, string modelPath, Serverless.Core.Inference.SessionSettings settings)
        {
            var session = new TrackedSession(new EchoSession(("x", TensorElementType.Float, [-1, 3])));
            lock (Sessions)
            {
                Sessions.Add(session);
            }

            return session;
        }

        public IInferenceSession Create(string modelName, ReadOnlySpan<byte> modelBytes, Serverless.Core.Inference.SessionSettings settings) =>
            Create(modelName, "bytes", settings);
    }

    private sealed class TrackedSession(EchoSession inner) : IInferenceSession
    {
        public bool Disposed { get; private set; }

        public IReadOnlyList<TensorSpec> Inputs => inner.Inputs;

        public IReadOnlyList<TensorSpec> Outputs => inner.Outputs;

        public string ExecutionProvider => inner.ExecutionProvider;

        public void Run(ReadOnlySpan<HostTensor> inputs, ReadOnlySpan<int> outputIndices, Span<IOutputTensor?> results, CancellationToken cancellationToken = default) =>
            inner.Run(inputs, outputIndices, results, cancellationToken);

        public void Dispose() => Disposed = true;
    }

    /// <summary>A body that holds its bytes back until a condition holds (or 10 s pass), and says whether it held.</summary>
    private sealed class WaitingBody(byte[] bytes, Func<bool> condition) : MemoryStream(bytes, writable: false)
    {
        public bool LoadHadStarted { get; private set; }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Position == 0)
            {
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (!condition() && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(5, cancellationToken);
                }

                LoadHadStarted = condition();
            }

            return await base.ReadAsync(buffer, cancellationToken);
        }
    }
}
