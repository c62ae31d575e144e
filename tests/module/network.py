"""A small network on the emulator with every kind of exposure a security group can have.

:func:`build_network` creates it through a boto3 session (the default one, which the module
tests point at the emulator with ``AWS_ENDPOINT_URL``) and returns a :class:`Network` of its ids.

What it builds, in one new VPC (``10.x.0.0/16``, so it can be built more than once per emulator):

- an internet gateway attached to the VPC;
- two **public subnets** (``public_subnet_id`` and ``public_subnet_b_id``, two availability
  zones, as a load balancer needs) explicitly associated with ``public_route_table_id``,
  which routes ``0.0.0.0/0`` to the internet gateway;
- a **private subnet** (``private_subnet_id``) with no explicit association, so it uses the
  VPC's main route table (``main_route_table_id``: the local route only);
- ``public_instance_id`` in the public subnet with a public IPv4 address (``public_ip``,
  on ``public_interface_id``), carrying ``public_group_id`` only: **exposed through its interface**;
- ``private_instance_id`` in the private subnet without a public address (``private_interface_id``),
  carrying ``private_group_id`` only: **not exposed**;
- ``unattached_group_id``: a group no interface carries: **not exposed**;
- an internet-facing application load balancer ``load_balancer_name`` (``load_balancer_arn``)
  in the two public subnets, carrying ``load_balancer_group_id``: **internet-facing load balancer**
  (the emulator gives load balancers no interfaces, so its exposure is known from the load
  balancer itself, not from an interface);
- ``backend_group_id`` with one ingress rule, tcp ``BACKEND_PORT`` from ``load_balancer_group_id``:
  **exposed through the load balancer**.

No group has a rule open to the internet: each test adds the rules it rates. Names (groups,
load balancer) end with the VPC id's last 8 characters, so two builds never collide.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import boto3

IMAGE_ID = "ami-12c6146b"  # an image the emulator knows
BACKEND_PORT = 8080
_SECOND_OCTETS = itertools.count(60)


@dataclass(frozen=True)
class Network:
    """The ids :func:`build_network` created (see the module docstring for what each is)."""

    region: str
    vpc_id: str
    internet_gateway_id: str
    public_subnet_id: str
    public_subnet_b_id: str
    private_subnet_id: str
    public_route_table_id: str
    main_route_table_id: str
    public_instance_id: str
    public_interface_id: str
    public_ip: str
    private_instance_id: str
    private_interface_id: str
    public_group_id: str
    private_group_id: str
    unattached_group_id: str
    load_balancer_group_id: str
    backend_group_id: str
    load_balancer_name: str
    load_balancer_arn: str


def _instance(ec2: Any, subnet_id: str, group_id: str, public: bool) -> tuple[str, str, str]:
    """(instance id, primary interface id, public IPv4 address or "") of a new instance."""
    instance = ec2.run_instances(
        ImageId=IMAGE_ID, InstanceType="t3.micro", MinCount=1, MaxCount=1,
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet_id, "Groups": [group_id],
                            "AssociatePublicIpAddress": public}],
    )["Instances"][0]
    interface = instance["NetworkInterfaces"][0]
    public_ip = (interface.get("Association") or {}).get("PublicIp", "")
    return instance["InstanceId"], interface["NetworkInterfaceId"], public_ip


def build_network(session: Any = None, region: str = "us-east-1", name: str = "exposure") -> Network:
    """Build the network described in the module docstring; ``name`` starts every name in it."""
    session = session or boto3.session.Session()
    ec2 = session.client("ec2", region_name=region)
    elbv2 = session.client("elbv2", region_name=region)
    octet = next(_SECOND_OCTETS)
    vpc_id = ec2.create_vpc(CidrBlock=f"10.{octet}.0.0/16")["Vpc"]["VpcId"]
    suffix = vpc_id[-8:]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]

    def subnet(third_octet: int, zone: str) -> str:
        return str(ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.{octet}.{third_octet}.0/24",
                                     AvailabilityZone=zone)["Subnet"]["SubnetId"])

    public_a, public_b, private = subnet(1, zones[0]), subnet(2, zones[1]), subnet(3, zones[0])
    public_table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    for subnet_id in (public_a, public_b):
        ec2.associate_route_table(RouteTableId=public_table, SubnetId=subnet_id)
    main_table = ec2.describe_route_tables(Filters=[
        {"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]},
    ])["RouteTables"][0]["RouteTableId"]

    def group(role: str) -> str:
        return str(ec2.create_security_group(GroupName=f"{name}-{role}-{suffix}", Description=f"{name} {role}",
                                             VpcId=vpc_id)["GroupId"])

    public_group, private_group, unattached = group("public"), group("private"), group("unattached")
    lb_group, backend = group("load-balancer"), group("backend")
    ec2.authorize_security_group_ingress(GroupId=backend, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": BACKEND_PORT, "ToPort": BACKEND_PORT,
        "UserIdGroupPairs": [{"GroupId": lb_group, "Description": "from the load balancer"}],
    }])
    public_instance, public_interface, public_ip = _instance(ec2, public_a, public_group, public=True)
    private_instance, private_interface, _ = _instance(ec2, private, private_group, public=False)
    lb_name = f"{name}-{suffix}"[-32:].lstrip("-")  # at most 32 characters, not starting with a hyphen
    balancer = elbv2.create_load_balancer(
        Name=lb_name, Subnets=[public_a, public_b], SecurityGroups=[lb_group],
        Scheme="internet-facing", Type="application",
    )["LoadBalancers"][0]
    return Network(
        region=region, vpc_id=vpc_id, internet_gateway_id=igw,
        public_subnet_id=public_a, public_subnet_b_id=public_b, private_subnet_id=private,
        public_route_table_id=public_table, main_route_table_id=main_table,
        public_instance_id=public_instance, public_interface_id=public_interface, public_ip=public_ip,
        private_instance_id=private_instance, private_interface_id=private_interface,
        public_group_id=public_group, private_group_id=private_group, unattached_group_id=unattached,
        load_balancer_group_id=lb_group, backend_group_id=backend,
        load_balancer_name=balancer["LoadBalancerName"], load_balancer_arn=balancer["LoadBalancerArn"],
    )
