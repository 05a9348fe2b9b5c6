using System.Diagnostics;
using Azure.Storage.Blobs;
using Serverless.Tests.Shared;

namespace Serverless.Tests.Azurite;

/// <summary>
/// A real Azurite blob service (from node_modules) on a free loopback port, in memory, for the lifetime of
/// a test class or collection. Killed, with its child processes, on dispose.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    // Azurite's well-known development account (published in its README; not a secret).
    public const string Account = "devstoreaccount1";
    public const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private Process? _process;
    private string? _workspace;
    private readonly System.Text.StringBuilder _errors = new();

    public int Port { get; private set; }

    /// <summary>Path-style endpoint, e.g. http://127.0.0.1:PORT/devstoreaccount1/.</summary>
    public Uri BlobEndpoint => new($"http://127.0.0.1:{Port}/{Account}/");

    /// <summary>A connection string as the Functions host would see it in AzureWebJobsStorage.</summary>
    public string ConnectionString => $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={Key};BlobEndpoint={BlobEndpoint}";

    /// <summary>An Azure SDK client for the emulator, authorized with the development account's key.</summary>
    public BlobServiceClient CreateClient() => new(ConnectionString);

    /// <summary>A new empty container no other test uses.</summary>
    public async Task<BlobContainerClient> CreateContainerAsync(string hint)
    {
        var container = CreateClient().GetBlobContainerClient(NewContainer(hint));
        await container.CreateIfNotExistsAsync();
        return container;
    }

    /// <summary>A container name no other test uses.</summary>
    public static string NewContainer(string hint) => $"{hint}-{Guid.NewGuid():N}"[..Math.Min(63, hint.Length + 33)];

    public async Task InitializeAsync()
    {
        Port = LoopbackPort.Free();
        _workspace = Directory.CreateTempSubdirectory("azurite-").FullName;
        var main = Path.Combine(RepoPaths.NodeModules, "azurite", "dist", "src", "blob", "main.js");
        if (!File.Exists(main))
        {
            throw new InvalidOperationException($"Azurite is not installed at {main}; run ./build.sh setup.");
        }

        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // --skipApiVersionCheck: the Azure SDK sends a newer x-ms-version than this Azurite knows, for the same
        // operations; Azure's own SDK tests run Azurite this way.
        foreach (var arg in new[] { main, "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--location", _workspace, "--silent", "--disableTelemetry", "--skipApiVersionCheck" })
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node for Azurite.");
        _process.OutputDataReceived += static (_, _) => { };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_errors)
                {
                    _errors.AppendLine(e.Data);
                }
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        if (await LoopbackPort.WaitUntilAcceptingAsync(Port, TimeSpan.FromSeconds(30), () => _process.HasExited))
        {
            return;
        }

        if (_process.HasExited)
        {
            throw new InvalidOperationException($"Azurite exited with code {_process.ExitCode} before listening on port {Port}: {_errors}");
        }

        throw new TimeoutException($"Azurite did not listen on port {Port} within 30 s.");
    }

    public Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process?.Dispose();
        if (_workspace is not null)
        {
            try
            {
                Directory.Delete(_workspace, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        return Task.CompletedTask;
    }

}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
