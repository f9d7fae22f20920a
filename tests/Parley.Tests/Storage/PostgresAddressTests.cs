using Npgsql;
using Parley.Server.Storage.Postgres;

namespace Parley.Tests.Storage;

/// <summary>The --store address as the connection string every node opens its sessions with.</summary>
public sealed class PostgresAddressTests
{
    [Fact]
    public void Every_session_asks_PostgreSQL_to_let_go_of_a_node_that_went_away()
    {
        NpgsqlConnectionStringBuilder built = new(PostgresAddress.ToConnectionString("postgres://parley:s3cret@db.example:6543/chat"));
        Assert.Equal(("db.example", 6543, "chat", "parley", "s3cret"), (built.Host, built.Port, built.Database, built.Username, built.Password));
        Assert.Equal(PostgresAddress.SessionOptions, built.Options);
        Assert.Contains("idle_in_transaction_session_timeout=10000", built.Options);
        Assert.Contains("tcp_keepalives_idle=10", built.Options);
        Assert.True(built.TcpKeepAlive);
        Assert.Equal((10, 5), (built.TcpKeepAliveTime, built.TcpKeepAliveInterval));
    }

    [Fact]
    public void The_operators_own_session_options_come_after_ours_so_theirs_win()
    {
        NpgsqlConnectionStringBuilder built = new(PostgresAddress.ToConnectionString(
            "postgres://parley@db/chat?options=" + Uri.EscapeDataString("-c idle_in_transaction_session_timeout=60000") + "&sslmode=require"));
        Assert.Equal(PostgresAddress.SessionOptions + " -c idle_in_transaction_session_timeout=60000", built.Options);
        Assert.Equal(SslMode.Require, built.SslMode);
    }

    [Fact]
    public void The_description_for_log_lines_has_no_password()
    {
        string description = PostgresAddress.Describe(PostgresAddress.ToConnectionString("postgres://parley:s3cret@db:5432/chat"));
        Assert.Equal("postgres://parley@db:5432/chat", description);
    }

    [Fact]
    public void An_option_Npgsql_does_not_know_is_refused_by_name()
    {
        FormatException refused = Assert.Throws<FormatException>(() => PostgresAddress.ToConnectionString("postgres://parley@db/chat?no_such_thing=1"));
        Assert.Contains("'no_such_thing' is not a PostgreSQL connection option", refused.Message);
    }
}
