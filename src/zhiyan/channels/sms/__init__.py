"""SMS (Kannel, Africa's Talking, Twilio, generic JSON) and the durable queue behind it;
see docs/sms.md. The USSD menu is channels/ussd.py."""
