namespace Serverless.Core.Models;

/// <summary>
/// What a folder of bare <c>*.onnx</c> files yields (<see cref="DerivedManifest.FromFolderAsync"/>): the models
/// served, sorted by name; the models listed but unloadable, with ONNX Runtime's (or the file system's) reason;
/// and the files skipped because their names cannot be model names.
/// </summary>
public sealed record DerivedCatalog(IReadOnlyList<ModelManifest> Manifests, IReadOnlyList<UnloadableModel> Unloadable, IReadOnlyList<SkippedModelFile> Skipped);
