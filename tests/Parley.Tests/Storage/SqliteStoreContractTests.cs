using Parley.Server.Storage;
using Parley.Tests.Support;

namespace Parley.Tests.Storage;

/// <summary>The store contract on the embedded store: the SQLite file and its inbox log, in a temporary directory.</summary>
public sealed class SqliteStoreContractTests : StoreContractTests, IDisposable
{
    private readonly TempDirectory _directory = new();

    protected override async Task<IMessageStore> OpenAsync() => await SqliteMessageStore.OpenAsync(_directory.File("parley.db"));

    public void Dispose() => _directory.Dispose();
}
