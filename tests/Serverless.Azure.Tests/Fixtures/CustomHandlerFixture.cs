using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Serverless.Storage.AzureBlob;
using Serverless.Tests.Azurite;
using Serverless.Tests.Shared;

namespace Serverless.Azure.Tests.Fixtures;

/// <summary>
/// A loopback stand-in for the Azure Functions host: it starts Azurite, publishes text-direction to a
/// container, launches the real handler executable (serverless-azure, built next to the tests) with
/// FUNCTIONS_CUSTOMHANDLER_PORT and the app settings the host would pass, and talks to it the way the host
/// does: forwarded HTTP requests as-is, other triggers as POST /{function} with {Data, Metadata}.
/// </summary>
public sealed class CustomHandlerFixture : IAsyncLifetime
{
    public const string Container = "functions-e2e";

    private readonly StringBuilder _log = new();
    private Process? _process;
    private string? _cache;

    public AzuriteFixture Azurite { get; } = new();

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public Uri BaseUri { get; private set; } = null!;

    /// <summary>First infer after start (download from Azurite, verify, load into ORT, run), measured through the handler.</summary>
    public double FirstInferMilliseconds { get; private set; }

    /// <summary>Process start until the handler answered its first health probe.</summary>
    public double StartMilliseconds { get; private set; }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public AzureBlobClient CreateBlobClient() => Azurite.CreateClient();

    public async Task InitializeAsync()
    {
        await Azurite.InitializeAsync();
        using (var client = Azurite.CreateClient())
        {
            await client.CreateContainerIfNotExistsAsync(Container);
            await using var model = File.OpenRead(RepoPaths.ModelFile("text-direction"));
            await client.UploadAsync(Container, "store/text-direction/1/model.onnx", model);
        }

        _cache = Directory.CreateTempSubdirectory("azure-handler-cache-").FullName;
        var port = LoopbackPort.Free();
        BaseUri = new Uri($"http://127.0.0.1:{port}/");
        var executable = Path.Combine(AppContext.BaseDirectory, "serverless-azure");
        var start = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.Environment["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        start.Environment["AzureWebJobsStorage"] = Azurite.ConnectionString;
        start.Environment["MODEL_STORE"] = $"azblob://{Container}/store";
        start.Environment["SERVERLESS_MODELS_DIR"] = RepoPaths.Models;
        start.Environment["MODEL_CACHE_DIR"] = _cache;
        start.Environment["SERVERLESS_ORT_LIBRARY"] = RepoPaths.OrtLibrary;
        start.Environment["DOTNET_gcServer"] = "0";

        var watch = Stopwatch.StartNew();
        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {executable}.");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitForHealthAsync(TimeSpan.FromSeconds(60));
        StartMilliseconds = watch.Elapsed.TotalMilliseconds;

        watch.Restart();
        using var first = await Http.PostAsync(new Uri(BaseUri, "v2/models/text-direction/infer?code=test-key"), Payloads.InferContent());
        FirstInferMilliseconds = watch.Elapsed.TotalMilliseconds;
        if (first.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"The first infer answered {(int)first.StatusCode}: {await first.Content.ReadAsStringAsync()}\n{Log}");
        }
    }

    /// <summary>The handler process, for measurements that read its peak memory.</summary>
    public int ProcessId => _process?.Id ?? 0;

    /// <summary>Sends an invocation the way the Functions host does for a non-HTTP trigger.</summary>
    public Task<HttpResponseMessage> InvokeAsync(string function, string payloadJson) =>
        Http.PostAsync(new Uri(BaseUri, function), new StringContent(payloadJson, Encoding.UTF8, "application/json"));

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        Http.Dispose();
        await Azurite.DisposeAsync();
        if (_cache is not null)
        {
            Directory.Delete(_cache, recursive: true);
        }
    }

    private async Task WaitForHealthAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"serverless-azure exited with code {_process.ExitCode}:\n{Log}");
            }

            try
            {
                using var response = await Http.GetAsync(new Uri(BaseUri, "v2/health/live"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"serverless-azure did not answer /v2/health/live within {timeout.TotalSeconds} s:\n{Log}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

}
