using Parley.Server.Storage;
using Parley.Tests.Support;

namespace Parley.Tests.Storage;

/// <summary>The group store contract on the embedded SQLite store (one file in a temporary directory).</summary>
public sealed class SqliteGroupStoreContractTests : GroupStoreContractTests, IDisposable
{
    private readonly TempDirectory _directory = new();

    protected override async Task<IMessageStore> OpenAsync() => await SqliteMessageStore.OpenAsync(_directory.File("parley.db"));

    public void Dispose() => _directory.Dispose();
}
