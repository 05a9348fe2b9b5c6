using Serverless.Core.Errors;

namespace Serverless.Core.Models;

/// <summary>
/// A model whose file was found but cannot be loaded (ONNX Runtime refused it, or it could not be read). It
/// stays listed, as FAILED, and every request for it gets <see cref="Error"/>: 503 with the file and the
/// reason, so one bad file in a folder never takes the other models down with it.
/// </summary>
public sealed record UnloadableModel(ModelManifest Manifest, string File, InferenceException Error)
{
    public string Name => Manifest.Name;

    /// <summary>The listing and error of a model file that failed with <paramref name="failure"/>.</summary>
    public static UnloadableModel ForFile(string name, string file, Exception failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var fileName = Path.GetFileName(file);
        var size = 0L;
        try
        {
            size = new FileInfo(file).Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The size is only shown in listings; the failure itself is the reason reported.
        }

        var manifest = new ModelManifest
        {
            Name = name,
            Description = $"{fileName} could not be loaded.",
            DefaultVersion = "1",
            Versions = [new ModelVersionManifest { Version = "1", Artifact = fileName, Sha256 = string.Empty, Size = size }],
        };
        // ORT's messages already start with "Model 'name': " and name the file; others (I/O) may not.
        var reason = failure.Message.StartsWith($"Model '{name}': ", StringComparison.Ordinal) ? failure.Message[$"Model '{name}': ".Length..] : failure.Message;
        if (!reason.Contains(file, StringComparison.Ordinal))
        {
            reason = $"'{file}' could not be loaded: {reason}";
        }

        var error = new InferenceException(ErrorCode.NotReady,
            $"Model '{name}' is unavailable: {reason} " +
            $"Fix or replace {fileName} (or move it out of the folder), then start the server again.", failure)
        { Model = name };
        return new UnloadableModel(manifest, file, error);
    }
}
