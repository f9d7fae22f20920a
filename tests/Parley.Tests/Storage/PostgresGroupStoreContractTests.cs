using Parley.Server.Storage;
using Parley.Server.Storage.Postgres;
using Parley.Tests.Cluster;

namespace Parley.Tests.Storage;

/// <summary>The group store contract on PostgreSQL 15 (a fresh database per test on the shared test engine).</summary>
[Collection(ClusterEnginesCollection.Name)]
public sealed class PostgresGroupStoreContractTests(ClusterEngines engines) : GroupStoreContractTests, INeedsClusterEngines
{
    private string? _database;

    protected override async Task<IMessageStore> OpenAsync()
    {
        _database ??= await engines.NewDatabaseAsync();
        return await PostgresMessageStore.OpenAsync(_database);
    }
}
