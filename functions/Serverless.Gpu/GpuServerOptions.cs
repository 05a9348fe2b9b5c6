using System.Globalization;
using Serverless.Core.Errors;
using Serverless.Core.Hosting;
using Serverless.Core.Inference;
using Serverless.Core.Inference.Batching;
using Serverless.Core.Models;
using Serverless.Core.Onnx;

namespace Serverless.Gpu;

/// <summary>
/// Everything the GPU server is configured with. <see cref="FromEnvironment"/> reads the model settings every
/// host shares (<see cref="ServerlessSettings"/>) plus the GPU server's own variables; each invalid value is a
/// start-up error naming the variable, the value and what is accepted.
/// <list type="table">
/// <item><term>--urls, ASPNETCORE_URLS, PORT</term><description>Where to listen, in that order of precedence. Default http://0.0.0.0:8080.</description></item>
/// <item><term>MODEL_NAMES</term><description>Comma-separated models this server serves (the CDK stack sets the heavy ones); empty serves the whole catalog.</description></item>
/// <item><term>GPU_BATCH_DELAY_MS</term><description>Longest wait for a batch to fill, in milliseconds (default 2; 0 joins only requests already queued).</description></item>
/// <item><term>GPU_MAX_BATCH_SIZE</term><description>Rows per joined run; default each manifest's maxBatchSize (0 or 1 turns batching off).</description></item>
/// <item><term>GPU_MAX_QUEUE</term><description>Requests per model waiting or running before 503 + Retry-After (default 256).</description></item>
/// <item><term>GPU_CONCURRENT_RUNS</term><description>Runs per model at once (default 1: one GPU, one stream).</description></item>
/// <item><term>GPU_DRAIN_SECONDS</term><description>After SIGTERM, how long readiness answers 503 before the listener closes (default 2).</description></item>
/// <item><term>GPU_SHUTDOWN_SECONDS</term><description>Longest shutdown, drain included, for in-flight requests to finish (default 25, inside ECS's 30 s stop timeout).</description></item>
/// <item><term>GPU_PREFER_CUDA</term><description>true (default) or false; false runs on CPU on purpose, without the fallback warning.</description></item>
/// <item><term>GPU_REQUIRED</term><description>true (the default when CUDA is preferred; the image sets it too): failing to add the CUDA provider stops the server at start-up with ONNX Runtime's reason. false allows the CPU fallback, with one warning.</description></item>
/// <item><term>OTEL_EXPORTER_OTLP_ENDPOINT</term><description>When set, metrics are exported with OTLP (the exporter also reads the other OTEL_* variables).</description></item>
/// </list>
/// </summary>
public sealed record GpuServerOptions
{
    public const string DefaultUrls = "http://0.0.0.0:8080";

    public required ServerlessSettings Settings { get; init; }

    /// <summary>Semicolon-separated listen URLs; port 0 picks a free port (tests).</summary>
    public string Urls { get; init; } = DefaultUrls;

    /// <summary>Models served; empty for the whole catalog.</summary>
    public IReadOnlyList<string> ModelNames { get; init; } = [];

    /// <summary>Batching settings; the server adds its metrics observer.</summary>
    public DynamicBatchingOptions Batching { get; init; } = new();

    public TimeSpan DrainDelay { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(25);

    public bool PreferCuda { get; init; } = true;

    /// <summary>When CUDA is preferred, whether running without it is fatal (true) or a logged CPU fallback (false).</summary>
    public bool RequireCuda { get; init; } = true;

    public string? OtlpEndpoint { get; init; }

    /// <summary>Creates sessions; the real ONNX Runtime binding unless a test wraps it.</summary>
    public IInferenceSessionFactory SessionFactory { get; init; } = OnnxSessionFactory.Instance;

    public static GpuServerOptions FromEnvironment(IEnvironment environment, IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(args);
        var settings = ServerlessSettings.FromEnvironment(environment);
        var defaults = new DynamicBatchingOptions();
        var preferCuda = Boolean(environment, "GPU_PREFER_CUDA") ?? true;
        var requireCuda = Boolean(environment, "GPU_REQUIRED") ?? preferCuda;
        if (requireCuda && !preferCuda)
        {
            throw Invalid("GPU_REQUIRED", "true",
                "false while GPU_PREFER_CUDA=false: a server told to run on CPU cannot require the GPU (unset one of them)");
        }

        return new GpuServerOptions
        {
            Settings = settings,
            Urls = ResolveUrls(environment, args),
            ModelNames = ParseNames(Text(environment, "MODEL_NAMES")),
            Batching = defaults with
            {
                MaxDelay = TimeSpan.FromMilliseconds(Integer(environment, "GPU_BATCH_DELAY_MS", 0, 10_000) ?? 2),
                MaxBatchSize = Integer(environment, "GPU_MAX_BATCH_SIZE", 0, 1 << 20),
                MaxQueuedRequests = Integer(environment, "GPU_MAX_QUEUE", 1, 1 << 20) ?? defaults.MaxQueuedRequests,
                MaxConcurrentRuns = Integer(environment, "GPU_CONCURRENT_RUNS", 1, 1024) ?? defaults.MaxConcurrentRuns,
            },
            DrainDelay = TimeSpan.FromSeconds(Integer(environment, "GPU_DRAIN_SECONDS", 0, 600) ?? 2),
            ShutdownTimeout = TimeSpan.FromSeconds(Integer(environment, "GPU_SHUTDOWN_SECONDS", 1, 3600) ?? 25),
            PreferCuda = preferCuda,
            RequireCuda = requireCuda,
            OtlpEndpoint = Text(environment, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        };
    }

    /// <summary>--urls (or --urls=...) first, then ASPNETCORE_URLS, then PORT on all interfaces, then <see cref="DefaultUrls"/>.</summary>
    public static string ResolveUrls(IEnvironment environment, IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(args);
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--urls")
            {
                return i + 1 < args.Count && args[i + 1].Length > 0
                    ? args[i + 1]
                    : throw Invalid("--urls", string.Empty, "one or more URLs separated by ';', e.g. --urls http://0.0.0.0:8080");
            }

            if (args[i].StartsWith("--urls=", StringComparison.Ordinal))
            {
                return args[i]["--urls=".Length..];
            }
        }

        if (Text(environment, "ASPNETCORE_URLS") is { } urls)
        {
            return urls;
        }

        if (Integer(environment, "PORT", 1, 65535) is { } port)
        {
            return $"http://0.0.0.0:{port.ToString(CultureInfo.InvariantCulture)}";
        }

        return DefaultUrls;
    }

    private static IReadOnlyList<string> ParseNames(string? text)
    {
        if (text is null)
        {
            return [];
        }

        var names = new List<string>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!ModelCatalog.IsValidName(part))
            {
                throw Invalid("MODEL_NAMES", text, $"comma-separated model names; '{part}' is not a model name");
            }

            if (!names.Contains(part, StringComparer.Ordinal))
            {
                names.Add(part);
            }
        }

        return names;
    }

    private static string? Text(IEnvironment environment, string name) =>
        environment.GetVariable(name)?.Trim() is { Length: > 0 } value ? value : null;

    private static int? Integer(IEnvironment environment, string name, int min, int max)
    {
        var text = Text(environment, name);
        if (text is null)
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw Invalid(name, text, $"a whole number from {min} to {max}");
    }

    private static bool? Boolean(IEnvironment environment, string name) => Text(environment, name) switch
    {
        null => null,
        "true" or "1" => true,
        "false" or "0" => false,
        var other => throw Invalid(name, other, "true or false"),
    };

    internal static InferenceException Invalid(string variable, string value, string expected) =>
        new(ErrorCode.InvalidInput, $"The setting {variable}='{value}' is invalid: expected {expected}.");
}
