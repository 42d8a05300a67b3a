from kit.migrate import run_env
from tenant.models import Base

run_env(Base.metadata)
