using System.Text;
using System.Text.Json;
using Serverless.Lambda.Emulator;
using Serverless.Tests.Shared;

namespace Serverless.Lambda.Tests.Process;

/// <summary>
/// The built bootstrap (bootstrap.dll next to the tests, run through dotnet) as a child process against a
/// loopback Runtime API emulator, configured like a per-model function serving text-direction from the
/// repository's verified local store.
/// </summary>
public sealed class BootstrapHost : IAsyncDisposable
{
    private BootstrapHost(RuntimeApiEmulator emulator, LambdaProcess process, string cacheDirectory)
    {
        Emulator = emulator;
        Process = process;
        CacheDirectory = cacheDirectory;
    }

    public RuntimeApiEmulator Emulator { get; }

    public LambdaProcess Process { get; }

    public string CacheDirectory { get; }

    /// <summary>
    /// The bootstrap under test: LAMBDA_BOOTSTRAP (e.g. artifacts/lambda/publish/bootstrap from
    /// scripts/package-lambda.sh, to test the trimmed self-contained package) or the framework-dependent build.
    /// </summary>
    public static string BootstrapPath =>
        Environment.GetEnvironmentVariable("LAMBDA_BOOTSTRAP") is { Length: > 0 } packaged ? Path.GetFullPath(packaged) : Path.Combine(AppContext.BaseDirectory, "bootstrap.dll");

    /// <summary>True when testing a published package, which must find libonnxruntime.so.1 in its own folder.</summary>
    public static bool IsPackaged => !BootstrapPath.EndsWith(".dll", StringComparison.Ordinal);

    /// <summary>The environment of a per-model function; <paramref name="overrides"/> wins (null removes a variable).</summary>
    public static Dictionary<string, string?> FunctionEnvironment(string cacheDirectory, IReadOnlyDictionary<string, string?>? overrides = null) =>
        FunctionEnvironment(cacheDirectory, IsPackaged, overrides);

    private static Dictionary<string, string?> FunctionEnvironment(string cacheDirectory, bool packaged, IReadOnlyDictionary<string, string?>? overrides)
    {
        var env = new Dictionary<string, string?>
        {
            ["MODEL_NAME"] = "text-direction",
            ["MODEL_STORE"] = "file://" + RepoPaths.ModelStore,
            ["SERVERLESS_MODELS_DIR"] = RepoPaths.Models,
            ["MODEL_CACHE_DIR"] = cacheDirectory,
            ["MODEL_PRELOAD"] = "1",
            ["SERVERLESS_ORT_LIBRARY"] = packaged ? null : RepoPaths.OrtLibrary,
            ["DOTNET_TieredPGO"] = "0",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            env[key] = value;
        }

        return env;
    }

    public static Task<BootstrapHost> StartAsync(IReadOnlyDictionary<string, string?>? overrides = null) =>
        StartAsync(BootstrapPath, null, overrides);

    /// <summary>Starts a given bootstrap, under <paramref name="launcher"/> when given (an emulator for another architecture).</summary>
    public static async Task<BootstrapHost> StartAsync(string bootstrapPath, IReadOnlyList<string>? launcher, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var cache = Directory.CreateTempSubdirectory("lambda-cache-").FullName;
        var emulator = await RuntimeApiEmulator.StartAsync();
        var packaged = !bootstrapPath.EndsWith(".dll", StringComparison.Ordinal);
        var process = LambdaProcess.Start(bootstrapPath, emulator.Endpoint, FunctionEnvironment(cache, packaged, overrides), launcher: launcher);
        return new BootstrapHost(emulator, process, cache);
    }

    public Task<InvocationResult> InvokeAsync(string payload, TimeSpan? timeout = null) =>
        Emulator.InvokeAsync(Encoding.UTF8.GetBytes(payload), timeout ?? TimeSpan.FromSeconds(60), "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1");

    /// <summary>Invokes and parses the response document (failing the test on an invocation error).</summary>
    public async Task<JsonElement> InvokeJsonAsync(string payload, TimeSpan? timeout = null)
    {
        var result = await InvokeAsync(payload, timeout);
        Assert.False(result.IsError, $"invocation failed: {result.BodyText}\nstderr:\n{string.Join('\n', Process.StandardError)}");
        return JsonDocument.Parse(result.Body).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        await Emulator.DisposeAsync();
        try
        {
            Directory.Delete(CacheDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One bootstrap process shared by a test class.</summary>
public sealed class BootstrapFixture : IAsyncLifetime
{
    public BootstrapHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await BootstrapHost.StartAsync();

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
