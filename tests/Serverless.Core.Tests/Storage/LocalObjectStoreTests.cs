using System.Text;
using Serverless.Core.Errors;
using Serverless.Core.Storage;

namespace Serverless.Core.Tests.Storage;

public sealed class LocalObjectStoreTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly LocalObjectStore _store;

    public LocalObjectStoreTests()
    {
        Directory.CreateDirectory(_temp.Combine("root"));
        _store = new LocalObjectStore(_temp.Combine("root"));
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task PutThenOpenRead_RoundTripsTheBytes()
    {
        var bytes = Encoding.UTF8.GetBytes("hello model");
        await _store.PutAsync("m/1/model.onnx", new MemoryStream(bytes));

        await using var stream = await _store.OpenReadAsync("m/1/model.onnx");
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);

        Assert.Equal(bytes, copy.ToArray());
        Assert.Equal(bytes.Length, (await _store.GetPropertiesAsync("m/1/model.onnx", default))!.Size);
    }

    [Fact]
    public async Task OpenRead_WithOffsetAndLength_ReturnsOnlyThatRange()
    {
        await _store.PutAsync("r", new MemoryStream(Encoding.ASCII.GetBytes("0123456789")));

        await using var stream = await _store.OpenReadAsync("r", 3, 4);
        using var reader = new StreamReader(stream);

        Assert.Equal("3456", await reader.ReadToEndAsync());
    }

    [Fact]
    public async Task OpenRead_MissingObject_ThrowsNotFoundNamingTheKeyAndRoot()
    {
        var error = await Assert.ThrowsAsync<InferenceException>(() => _store.OpenReadAsync("nope/model.onnx"));

        Assert.Equal(ErrorCode.NotFound, error.Code);
        Assert.Contains("'nope/model.onnx'", error.Message);
        Assert.Contains(_store.Root, error.Message);
        Assert.Null(await _store.GetPropertiesAsync("nope/model.onnx", default));
    }

    [Theory]
    [InlineData("../outside.txt")]
    [InlineData("a/../../outside.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("..\\outside.txt")]
    public async Task EveryOperation_WithAKeyEscapingTheRoot_IsRefused(string key)
    {
        File.WriteAllText(_temp.Combine("outside.txt"), "secret");

        Assert.Equal(ErrorCode.InvalidInput, (await Assert.ThrowsAsync<InferenceException>(() => _store.OpenReadAsync(key))).Code);
        Assert.Equal(ErrorCode.InvalidInput, (await Assert.ThrowsAsync<InferenceException>(() => _store.GetPropertiesAsync(key, default))).Code);
        Assert.Equal(ErrorCode.InvalidInput, (await Assert.ThrowsAsync<InferenceException>(() => _store.PutAsync(key, new MemoryStream([1])))).Code);
        Assert.Equal("secret", File.ReadAllText(_temp.Combine("outside.txt")));
    }

    [Fact]
    public async Task OpenRead_ThroughASymlinkPointingOutsideTheRoot_IsRefused()
    {
        File.WriteAllText(_temp.Combine("outside.txt"), "secret");
        File.CreateSymbolicLink(_temp.Combine("root", "link.txt"), _temp.Combine("outside.txt"));
        Directory.CreateSymbolicLink(_temp.Combine("root", "linkdir"), _temp.Path);

        var viaFile = await Assert.ThrowsAsync<InferenceException>(() => _store.OpenReadAsync("link.txt"));
        var viaDir = await Assert.ThrowsAsync<InferenceException>(() => _store.OpenReadAsync("linkdir/outside.txt"));
        var put = await Assert.ThrowsAsync<InferenceException>(() => _store.PutAsync("linkdir/planted.txt", new MemoryStream([1])));

        Assert.Contains("symbolic link", viaFile.Message);
        Assert.Equal(ErrorCode.InvalidInput, viaDir.Code);
        Assert.Equal(ErrorCode.InvalidInput, put.Code);
        Assert.False(File.Exists(_temp.Combine("planted.txt")));
        var keys = new List<string>();
        await foreach (var item in _store.ListAsync(string.Empty))
        {
            keys.Add(item.Key);
        }

        Assert.Empty(keys);
    }

    [Fact]
    public async Task OpenRead_ThroughASymlinkInsideTheRoot_IsAllowed()
    {
        await _store.PutAsync("real/model.onnx", new MemoryStream([7, 8]));
        File.CreateSymbolicLink(_temp.Combine("root", "alias.onnx"), _temp.Combine("root", "real", "model.onnx"));

        await using var stream = await _store.OpenReadAsync("alias.onnx");

        Assert.Equal(7, stream.ReadByte());
    }

    [Fact]
    public async Task Put_ReplacesAtomicallyAndLeavesNoTemporaryFiles()
    {
        await _store.PutAsync("m/model.json", new MemoryStream([1, 2, 3]));
        await _store.PutAsync("m/model.json", new MemoryStream([4]));

        Assert.Equal([4], File.ReadAllBytes(_temp.Combine("root", "m", "model.json")));
        Assert.Single(Directory.GetFiles(_temp.Combine("root", "m")));
    }

    [Fact]
    public async Task Put_WhenTheSourceStreamFails_LeavesThePreviousObjectAndNoTemporaryFile()
    {
        await _store.PutAsync("m/model.json", new MemoryStream([1, 2, 3]));

        await Assert.ThrowsAsync<IOException>(() => _store.PutAsync("m/model.json", new FailingStream()));

        Assert.Equal([1, 2, 3], File.ReadAllBytes(_temp.Combine("root", "m", "model.json")));
        Assert.Single(Directory.GetFiles(_temp.Combine("root", "m")));
    }

    [Fact]
    public async Task List_ReturnsKeysUnderThePrefixSortedAndSkipsHiddenFiles()
    {
        await _store.PutAsync("b/model.json", new MemoryStream([1]));
        await _store.PutAsync("a/model.json", new MemoryStream([1]));
        await _store.PutAsync("a/1/model.onnx", new MemoryStream([1, 2]));
        await _store.PutAsync("ab/model.json", new MemoryStream([1]));
        File.WriteAllText(_temp.Combine("root", "a", ".model.onnx.123.tmp"), "partial");

        var all = new List<string>();
        await foreach (var item in _store.ListAsync(string.Empty))
        {
            all.Add(item.Key);
        }

        var underA = new List<string>();
        await foreach (var item in _store.ListAsync("a/"))
        {
            underA.Add(item.Key);
        }

        Assert.Equal(["a/1/model.onnx", "a/model.json", "ab/model.json", "b/model.json"], all);
        Assert.Equal(["a/1/model.onnx", "a/model.json"], underA);
    }

    [Fact]
    public void FromUri_AcceptsFileUrisAndRelativePaths_AndRejectsHostForms()
    {
        Assert.Equal(_temp.Combine("root"), LocalObjectStore.FromUri(new Uri(_temp.Combine("root")).AbsoluteUri).RootPath);
        Assert.Equal(_temp.Combine("root"), LocalObjectStore.FromUri("root", _temp.Path).RootPath);
        Assert.StartsWith("file:///", _store.Root);
        Assert.Equal(ErrorCode.InvalidInput, Assert.Throws<InferenceException>(() => LocalObjectStore.FromUri("file://relative/path")).Code);
    }

    private sealed class FailingStream : MemoryStream
    {
        public FailingStream() : base(new byte[100])
        {
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Position > 0 ? throw new IOException("source broke") : base.ReadAsync(buffer[..10], cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
