using Parley.Server.Storage;
using Parley.Server.Storage.Postgres;
using Parley.Tests.Cluster;

namespace Parley.Tests.Storage;

/// <summary>The file store contract on PostgreSQL 15 (a fresh database per test on the shared test engine).</summary>
[Collection(ClusterEnginesCollection.Name)]
public sealed class PostgresFileStoreContractTests(ClusterEngines engines) : FileStoreContractTests, INeedsClusterEngines
{
    private string? _database;

    protected override async Task<IFileStore> OpenAsync()
    {
        _database ??= await engines.NewDatabaseAsync();
        return await PostgresMessageStore.OpenAsync(_database);
    }

    protected override async Task ExecuteAsync(string sql)
    {
        await using Npgsql.NpgsqlConnection connection = new(_database);
        await connection.OpenAsync();
        await using Npgsql.NpgsqlCommand command = new(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
