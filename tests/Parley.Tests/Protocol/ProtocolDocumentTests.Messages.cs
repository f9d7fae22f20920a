using System.Reflection;
using System.Text.Json.Serialization;
using Parley.Messaging;
using Parley.Server.Storage;

namespace Parley.Tests.Protocol;

public partial class ProtocolDocumentTests
{
    [Fact]
    public void Every_messenger_message_type_and_error_code_is_named_in_the_document()
    {
        string[] types = [.. new[] { typeof(ClientMessage), typeof(ServerMessage) }
            .SelectMany(t => t.GetCustomAttributes<JsonDerivedTypeAttribute>())
            .Select(a => (string)a.TypeDiscriminator!)];
        string[] codes = [.. typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (string)f.GetValue(null)!)];
        Assert.Contains("group_accept", types);
        Assert.Contains("not_invited", codes);
        string[] missing = [.. types.Concat(codes).Where(name => !Document.Contains($"`{name}`", StringComparison.Ordinal))];
        Assert.Equal([], missing);
    }

    [Fact]
    public void The_stated_group_invitation_bounds_are_the_servers_defaults()
    {
        string text = System.Text.RegularExpressions.Regex.Replace(Document, @"\s+", " ");
        InvitationRules rules = InvitationRules.Default;
        Assert.Contains($"| live group invitations one user holds (§11.7) | {rules.MaxPerUser} |", text);
        Assert.Contains($"| live invitations one user holds from one inviter | {rules.MaxPerInviter} |", text);
        Assert.Contains($"| age of a group invitation | {rules.Lifetime.TotalDays} days |", text);
        Assert.Contains($"| users one user accepts group adds from (§11.7) | {rules.MaxAllowed} |", text);
        Assert.Contains($"{rules.MaxPerUser} live invitations per user, {rules.MaxPerInviter} per inviter per user, {rules.Lifetime.TotalDays} days each, and {rules.MaxAllowed} allowed users per user", text);
    }
}
