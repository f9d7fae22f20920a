namespace Parley.Server.Cluster;

/// <summary>A live node of this cluster keeps the shared store under another layout: this node does not start beside it.</summary>
public sealed class ClusterVersionException(string message) : Exception(message);
