using Parley.Server.Storage;
using Parley.Tests.Support;

namespace Parley.Tests.Storage;

/// <summary>The file store contract on SQLite (files.db in a temporary directory).</summary>
public sealed class SqliteFileStoreContractTests : FileStoreContractTests, IDisposable
{
    private readonly TempDirectory _directory = new();

    protected override async Task<IFileStore> OpenAsync() => await SqliteFileStore.OpenAsync(_directory.File("files.db"));

    protected override async Task ExecuteAsync(string sql)
    {
        await using Microsoft.Data.Sqlite.SqliteConnection connection = new($"Data Source={_directory.File("files.db")};Pooling=False");
        await connection.OpenAsync();
        await using Microsoft.Data.Sqlite.SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public void Dispose() => _directory.Dispose();
}
