using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Amazon.Runtime;
using Serverless.Storage.S3;
using Serverless.Tests.Shared;

namespace Serverless.Lambda.Tests.Batch;

/// <summary>
/// A real s3rver on a free loopback port with a "batch" bucket, and the environment a bootstrap needs to
/// reach it (endpoint override, s3rver's fixed credentials). Dispose kills the process tree.
/// </summary>
public sealed class S3rverHost : IAsyncLifetime
{
    public const string Bucket = "batch";

    private System.Diagnostics.Process _process = null!;
    private string _directory = null!;

    public string Endpoint { get; private set; } = string.Empty;

    /// <summary>A store over the bucket, for the test to upload inputs and read results.</summary>
    public S3ObjectStore Store { get; private set; } = null!;

    public Dictionary<string, string?> Environment => new()
    {
        ["AWS_ENDPOINT_URL_S3"] = Endpoint,
        ["AWS_ACCESS_KEY_ID"] = "S3RVER",
        ["AWS_SECRET_ACCESS_KEY"] = "S3RVER",
        ["AWS_SESSION_TOKEN"] = null,
        ["AWS_REGION"] = "us-east-1",
    };

    public async Task InitializeAsync()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        _directory = Directory.CreateTempSubdirectory("lambda-s3rver-").FullName;
        var start = new ProcessStartInfo("node")
        {
            ArgumentList =
            {
                Path.Combine(RepoPaths.NodeModules, "s3rver", "bin", "s3rver.js"),
                "--directory", _directory, "--address", "127.0.0.1", "--port", port.ToString(), "--silent", "--configure-bucket", Bucket,
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = System.Diagnostics.Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Endpoint = $"http://127.0.0.1:{port}";
        for (var i = 0; i < 200; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                await Task.Delay(300); // the bucket is created just after the port opens
                break;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        Store = S3ObjectStore.Create(new Uri($"s3://{Bucket}/"), null, new S3ObjectStoreOptions
        {
            ServiceUrl = Endpoint,
            Credentials = new BasicAWSCredentials("S3RVER", "S3RVER"),
            Region = "us-east-1",
        });
    }

    public async Task PutTextAsync(string key, string text) =>
        await Store.PutAsync(key, new MemoryStream(Encoding.UTF8.GetBytes(text)), "application/x-ndjson", default);

    public async Task<string> GetTextAsync(string key)
    {
        await using var stream = await Store.OpenReadAsync(key, 0, null, default);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    public async Task<List<string>> ListAsync(string prefix)
    {
        var keys = new List<string>();
        await foreach (var o in Store.ListAsync(prefix))
        {
            keys.Add(o.Key);
        }

        return keys;
    }

    public Task DisposeAsync()
    {
        Store.Dispose();
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
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

        return Task.CompletedTask;
    }
}
