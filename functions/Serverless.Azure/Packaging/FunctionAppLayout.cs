using System.Text;
using System.Text.Json;
using Serverless.Core.Errors;
using Serverless.Core.Models;

namespace Serverless.Azure.Packaging;

/// <summary>
/// Writes what the Functions host reads from the app folder: host.json (custom handler, request forwarding,
/// empty route prefix so URLs are /v2/... as on AWS) and, per model, <c>&lt;model&gt;-http/function.json</c>
/// (HTTP trigger on <c>v2/models/&lt;model&gt;/{*rest}</c>) and <c>&lt;model&gt;-batch/function.json</c> (Event
/// Grid trigger), plus <c>health-http</c> for probes and the manifests under <c>models/</c>. GPU-only models
/// are skipped: functions have no GPU.
/// </summary>
internal static class FunctionAppLayout
{
    public const string ExecutableName = "serverless-azure";
    public const string HealthFunction = "health-http";

    /// <summary>Writes the layout into <paramref name="appDirectory"/>; returns the files written, relative to it.</summary>
    public static IReadOnlyList<string> Write(string appDirectory, IReadOnlyList<ModelManifest> manifests)
    {
        ArgumentException.ThrowIfNullOrEmpty(appDirectory);
        ArgumentNullException.ThrowIfNull(manifests);
        var written = new List<string>();
        Directory.CreateDirectory(appDirectory);
        WriteFile(appDirectory, "host.json", HostJson(), written);
        WriteFile(appDirectory, Path.Combine(HealthFunction, "function.json"), HttpFunctionJson("v2/health/{*rest}", "anonymous", ["get"]), written);
        foreach (var manifest in manifests.Where(m => !m.Gpu).OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            WriteFile(appDirectory, Path.Combine(manifest.Name + "-http", "function.json"), HttpFunctionJson($"v2/models/{manifest.Name}/{{*rest}}", "function", ["get", "post"]), written);
            WriteFile(appDirectory, Path.Combine(manifest.Name + "-batch", "function.json"), BatchFunctionJson(), written);
            var manifestPath = Path.Combine("models", manifest.Name, "model.json");
            Directory.CreateDirectory(Path.Combine(appDirectory, "models", manifest.Name));
            File.WriteAllBytes(Path.Combine(appDirectory, manifestPath), ModelCatalog.Serialize(manifest));
            written.Add(manifestPath);
        }

        return written;
    }

    public static string HostJson() => Json(w =>
    {
        w.WriteString("version", "2.0");
        // Consumption plans allow at most 10 minutes; BATCH_TIME_LIMIT_SECONDS defaults to a minute less.
        w.WriteString("functionTimeout", "00:10:00");
        w.WriteStartObject("logging");
        w.WriteStartObject("logLevel");
        w.WriteString("default", "Information");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject("extensionBundle");
        w.WriteString("id", "Microsoft.Azure.Functions.ExtensionBundle");
        w.WriteString("version", "[4.*, 5.0.0)");
        w.WriteEndObject();
        w.WriteStartObject("customHandler");
        w.WriteStartObject("description");
        w.WriteString("defaultExecutablePath", ExecutableName);
        w.WriteString("workingDirectory", "");
        w.WriteStartArray("arguments");
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteBoolean("enableForwardingHttpRequest", true);
        w.WriteEndObject();
        w.WriteStartObject("extensions");
        w.WriteStartObject("http");
        w.WriteString("routePrefix", "");
        w.WriteEndObject();
        w.WriteEndObject();
    });

    public static string HttpFunctionJson(string route, string authLevel, IReadOnlyList<string> methods) => Json(w =>
    {
        w.WriteStartArray("bindings");
        w.WriteStartObject();
        w.WriteString("type", "httpTrigger");
        w.WriteString("direction", "in");
        w.WriteString("name", "req");
        w.WriteString("authLevel", authLevel);
        w.WriteStartArray("methods");
        foreach (var method in methods)
        {
            w.WriteStringValue(method);
        }

        w.WriteEndArray();
        w.WriteString("route", route);
        w.WriteEndObject();
        w.WriteStartObject();
        w.WriteString("type", "http");
        w.WriteString("direction", "out");
        w.WriteString("name", "res");
        w.WriteEndObject();
        w.WriteEndArray();
    });

    public static string BatchFunctionJson() => Json(w =>
    {
        w.WriteStartArray("bindings");
        w.WriteStartObject();
        w.WriteString("type", "eventGridTrigger");
        w.WriteString("direction", "in");
        w.WriteString("name", "eventGridEvent");
        w.WriteEndObject();
        w.WriteEndArray();
    });

    /// <summary><c>serverless-azure layout &lt;appDir&gt; [modelsDir]</c>: the packaging script's entry point.</summary>
    public static int RunCommand(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (args.Length is < 1 or > 2)
        {
            error.WriteLine("usage: serverless-azure layout <appDir> [modelsDir]   (modelsDir defaults to ./models)");
            return 2;
        }

        try
        {
            var manifests = ModelCatalog.LoadFromFolder(args.Length > 1 ? args[1] : "models");
            foreach (var file in Write(args[0], manifests))
            {
                output.WriteLine(file);
            }

            return 0;
        }
        catch (InferenceException ex)
        {
            error.WriteLine($"serverless-azure layout: {ex.Message}");
            return 1;
        }
    }

    private static void WriteFile(string root, string relative, string content, List<string> written)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content + "\n", new UTF8Encoding(false));
        written.Add(relative);
    }

    private static string Json(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
