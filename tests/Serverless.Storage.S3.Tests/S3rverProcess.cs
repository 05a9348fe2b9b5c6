using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Serverless.Core.Hosting;
using Serverless.Tests.Shared;

namespace Serverless.Storage.S3.Tests;

/// <summary>
/// A real s3rver (node_modules/s3rver) on a loopback port with one bucket, in its own temporary folder.
/// Dispose kills the whole process tree and deletes the folder.
/// </summary>
internal sealed class S3rverProcess : IDisposable
{
    public const string Bucket = "models";

    // s3rver's built-in account.
    public static AWSCredentials Credentials { get; } = new BasicAWSCredentials("S3RVER", "S3RVER");

    private readonly Process _process;
    private readonly string _directory;

    private S3rverProcess(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task<S3rverProcess> StartAsync(int? port = null)
    {
        var chosen = port ?? FreePort();
        var directory = Directory.CreateTempSubdirectory("s3rver-").FullName;
        var start = new ProcessStartInfo("node")
        {
            ArgumentList =
            {
                Path.Combine(RepoPaths.NodeModules, "s3rver", "bin", "s3rver.js"),
                "--directory", directory, "--address", "127.0.0.1", "--port", chosen.ToString(), "--silent",
                "--configure-bucket", Bucket,
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var server = new S3rverProcess(process, directory, chosen);
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                server.Dispose();
                throw new InvalidOperationException($"s3rver exited with code {process.ExitCode}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, chosen);
                // The bucket is configured just after the port opens; give it a moment.
                await Task.Delay(200);
                return server;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        server.Dispose();
        throw new TimeoutException($"s3rver did not open port {chosen} within 20 s");
    }

    /// <summary>A store on this server's bucket with an optional prefix.</summary>
    public S3ObjectStore Store(string prefix = "", S3ObjectStoreOptions? options = null) =>
        S3ObjectStore.Create(new Uri($"s3://{Bucket}/{prefix}"), new TestEnvironment(), (options ?? new S3ObjectStoreOptions()) with
        {
            ServiceUrl = Endpoint,
            Credentials = Credentials,
        });

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>An empty environment (no AWS variables leak in from the machine), with optional variables.</summary>
internal sealed class TestEnvironment : IEnvironment
{
    public Dictionary<string, string> Variables { get; } = [];

    public string? GetVariable(string name) => Variables.GetValueOrDefault(name);

    public string CurrentDirectory => Directory.GetCurrentDirectory();

    public string HomeDirectory => "/nonexistent";

    public long TotalAvailableMemoryBytes => 2L << 30;
}

/// <summary>One s3rver shared by the tests of a class.</summary>
public sealed class S3rverFixture : IAsyncLifetime
{
    internal S3rverProcess Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await S3rverProcess.StartAsync();

    public Task DisposeAsync()
    {
        Server.Dispose();
        return Task.CompletedTask;
    }
}
