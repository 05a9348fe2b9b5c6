using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Serverless.Core.Hosting;
using Serverless.Core.Inference;
using Serverless.Core.Inference.Batching;
using Serverless.Core.Onnx;
using Serverless.Tests.Shared;

namespace Serverless.Gpu.Tests.Fixtures;

/// <summary>
/// Starts a real <see cref="GpuServer"/> (Kestrel on 127.0.0.1, a free port, the real ONNX Runtime) over the
/// repository's models and verified local store, with an HttpClient pointed at it.
/// </summary>
internal sealed class GpuTestServer : IAsyncDisposable
{
    private GpuTestServer(GpuServer server, CapturingLoggerProvider logs)
    {
        Server = server;
        Logs = logs;
        Client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public GpuServer Server { get; }

    public HttpClient Client { get; }

    public CapturingLoggerProvider Logs { get; }

#pragma warning disable CA2255 // A test assembly is the entry point here, not a library.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void UseRepositoryRuntime()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("SERVERLESS_ORT_LIBRARY")))
        {
            Environment.SetEnvironmentVariable("SERVERLESS_ORT_LIBRARY", RepoPaths.OrtLibrary);
        }
    }

    public static ServerlessSettings Settings(IReadOnlyList<string>? preload = null) => new()
    {
        ModelStore = RepoPaths.ModelStore,
        ModelsDirectory = RepoPaths.Models,
        CacheDirectory = Path.Combine(Path.GetTempPath(), "serverless-gpu-tests-cache"),
        MemoryBudgetBytes = 4L << 30,
        Preload = preload ?? [],
    };

    public static async Task<GpuTestServer> StartAsync(
        DynamicBatchingOptions? batching = null,
        Func<IInferenceSession, IInferenceSession>? wrapSession = null,
        TimeSpan? drainDelay = null,
        IReadOnlyList<string>? modelNames = null,
        IReadOnlyList<string>? preload = null)
    {
        var logs = new CapturingLoggerProvider();
        var options = new GpuServerOptions
        {
            Settings = Settings(preload),
            Urls = "http://127.0.0.1:0",
            ModelNames = modelNames ?? ["text-direction", "voice-activity"],
            Batching = batching ?? new DynamicBatchingOptions(),
            DrainDelay = drainDelay ?? TimeSpan.Zero,
            ShutdownTimeout = TimeSpan.FromSeconds(20),
            SessionFactory = wrapSession is null ? OnnxSessionFactory.Instance : new WrappingFactory(wrapSession),
            RequireCuda = false, // the build machines have no GPU: these tests ask for the CPU fallback
        };
        var server = await GpuServer.StartAsync(options, logs);
        return new GpuTestServer(server, logs);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        Logs.Dispose();
    }

    /// <summary>The real factory with each session passed through a test decorator.</summary>
    private sealed class WrappingFactory(Func<IInferenceSession, IInferenceSession> wrap) : IInferenceSessionFactory
    {
        public IInferenceSession Create(string modelName, string modelPath, SessionSettings settings) =>
            wrap(OnnxSessionFactory.Instance.Create(modelName, modelPath, settings));

        public IInferenceSession Create(string modelName, ReadOnlySpan<byte> modelBytes, SessionSettings settings) =>
            wrap(OnnxSessionFactory.Instance.Create(modelName, modelBytes, settings));
    }
}

/// <summary>Keeps every log entry (category, event id, level, message) for assertions.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly Lock _lock = new();
    private readonly List<(string Category, int EventId, LogLevel Level, string Message)> _entries = [];

    public IReadOnlyList<(string Category, int EventId, LogLevel Level, string Message)> Entries
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner._lock)
            {
                owner._entries.Add((category, eventId.Id, logLevel, formatter(state, exception)));
            }
        }
    }
}
