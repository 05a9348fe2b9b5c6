using System.Diagnostics;
using System.Globalization;

namespace Serverless.Tests.Shared;

/// <summary>
/// A real s3rver (node_modules/s3rver) on a loopback port with one bucket, in its own temporary folder.
/// Dispose kills the whole process tree and deletes the folder. This compiles into every test project,
/// so it knows nothing of the AWS SDK: projects that use the SDK build their clients from
/// <see cref="Endpoint"/>, <see cref="AccessKeyId"/> and <see cref="SecretAccessKey"/>.
/// </summary>
internal sealed class S3rverServer : IDisposable
{
    /// <summary>s3rver's built-in account; it accepts nothing else.</summary>
    public const string AccessKeyId = "S3RVER";

    public const string SecretAccessKey = "S3RVER";

    public const string Region = "us-east-1";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private readonly Process _process;
    private readonly string _directory;
    private readonly Queue<string> _errorTail = new();
    private bool _disposed;

    private S3rverServer(Process process, string directory, int port, string bucket)
    {
        _process = process;
        _directory = directory;
        Port = port;
        Bucket = bucket;
    }

    public int Port { get; }

    public string Bucket { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>
    /// Environment a child process needs to reach this server with the AWS SDK. A null value removes the
    /// variable, so a session token from the machine does not spoil s3rver's signature check.
    /// </summary>
    public IReadOnlyDictionary<string, string?> ClientEnvironment => new Dictionary<string, string?>
    {
        ["AWS_ENDPOINT_URL_S3"] = Endpoint,
        ["AWS_ACCESS_KEY_ID"] = AccessKeyId,
        ["AWS_SECRET_ACCESS_KEY"] = SecretAccessKey,
        ["AWS_SESSION_TOKEN"] = null,
        ["AWS_REGION"] = Region,
    };

    /// <summary>Starts s3rver with <paramref name="bucket"/> created, on <paramref name="port"/> or a free one.</summary>
    /// <remarks>
    /// A fixed port lets a test point a client at the address first and start the server later
    /// ("store down, then back").
    /// </remarks>
    public static async Task<S3rverServer> StartAsync(string bucket, int? port = null)
    {
        var chosen = port ?? LoopbackPort.Free();
        var directory = Directory.CreateTempSubdirectory("s3rver-").FullName;
        var start = new ProcessStartInfo("node")
        {
            ArgumentList =
            {
                Path.Combine(RepoPaths.NodeModules, "s3rver", "bin", "s3rver.js"),
                "--directory", directory, "--address", "127.0.0.1", "--port", chosen.ToString(CultureInfo.InvariantCulture),
                "--silent", "--configure-bucket", bucket,
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("node did not start; is it on PATH?");
        }
        catch
        {
            Directory.Delete(directory, recursive: true);
            throw;
        }

        var server = new S3rverServer(process, directory, chosen, bucket);
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => server.KeepErrorLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        // s3rver 3.x creates the --configure-bucket buckets before it listens, so an open port means the
        // bucket is there too.
        if (await LoopbackPort.WaitUntilAcceptingAsync(chosen, StartTimeout, () => process.HasExited))
        {
            return server;
        }

        var failure = process.HasExited
            ? $"s3rver exited with code {process.ExitCode} before opening port {chosen}: {server.ErrorTail()}"
            : $"s3rver did not open port {chosen} within {StartTimeout.TotalSeconds:0} s: {server.ErrorTail()}";
        server.Dispose();
        throw new InvalidOperationException(failure);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
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
            // Already gone between the check and the kill.
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a dying node process; the temp folder is cleaned by the OS later.
        }
    }

    private void KeepErrorLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_errorTail)
        {
            _errorTail.Enqueue(line);
            if (_errorTail.Count > 20)
            {
                _errorTail.Dequeue();
            }
        }
    }

    private string ErrorTail()
    {
        lock (_errorTail)
        {
            return _errorTail.Count == 0 ? "(no stderr)" : string.Join('\n', _errorTail);
        }
    }
}
